from django.urls import path

from openprm.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("contacts/new/", views.contact_form, name="contact_create"),
    path("contacts/<uuid:public_id>/", views.contact_form, name="contact_edit"),
    path("team/", views.team, name="team"),
    path("team/<uuid:public_id>/", views.team_member, name="team_member"),
]
