"""Error pages are the product's own pages (styled, with a way back), not Django's bare text."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def _is_our_page(html: str) -> None:
    assert "openprm/app.css" in html  # styled with the product's stylesheet
    assert 'href="/"' in html  # a way back to the start page
    assert "<h1>" in html


def test_404_page_is_styled_and_says_what_to_do(world, client_for):
    response = client_for(world.analyst).get("/partners/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    html = response.content.decode()
    _is_our_page(html)
    assert "Page not found" in html and "<h1>Not Found</h1>" not in html


def test_404_for_anonymous_visitors_too(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    _is_our_page(response.content.decode())


def test_403_page_is_styled_and_names_the_reason(world, client_for):
    response = client_for(world.analyst).get("/import/partners/")
    assert response.status_code == 403
    html = response.content.decode()
    _is_our_page(html)
    assert "You may not do this" in html and "403 Forbidden" not in html


def test_500_page_renders_without_a_request_context():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    _is_our_page(html)
    assert "Something went wrong on our side" in html
