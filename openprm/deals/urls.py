from django.urls import path

from openprm.deals import views, views_products

app_name = "deals"
urlpatterns = [
    path("stages/", views.stages, name="stages"),
    path("products/", views_products.products, name="products"),
    path("", views.deal_list, name="list"),
    path("review/", views.pipeline_review, name="review"),
    path("partner/<uuid:public_id>/panel/", views.partner_panel, name="partner_panel"),
    path("conflicts/<uuid:public_id>/resolve/", views.conflict_resolve, name="conflict_resolve"),
    path("<uuid:public_id>/", views.deal_detail, name="detail"),
    path("<uuid:public_id>/history/", views.deal_history, name="history"),
    path("<uuid:public_id>/approve/", views.deal_approve, name="approve"),
    path("<uuid:public_id>/reject/", views.deal_reject, name="reject"),
    path("<uuid:public_id>/request-info/", views.deal_request_info, name="request_info"),
    path("<uuid:public_id>/stage/", views.deal_stage, name="stage"),
]
