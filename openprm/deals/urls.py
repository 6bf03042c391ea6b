from django.urls import path

from openprm.deals.views import deals, detail, pipeline, products

app_name = "deals"
urlpatterns = [
    path("stages/", pipeline.stages, name="stages"),
    path("products/", products.products, name="products"),
    path("", deals.deal_list, name="list"),
    path("review/", pipeline.pipeline_review, name="review"),
    path("partner/<uuid:public_id>/panel/", pipeline.partner_panel, name="partner_panel"),
    path("conflicts/<uuid:public_id>/resolve/", detail.conflict_resolve, name="conflict_resolve"),
    path("<uuid:public_id>/", detail.deal_detail, name="detail"),
    path("<uuid:public_id>/history/", detail.deal_history, name="history"),
    path("<uuid:public_id>/approve/", detail.deal_approve, name="approve"),
    path("<uuid:public_id>/reject/", detail.deal_reject, name="reject"),
    path("<uuid:public_id>/request-info/", detail.deal_request_info, name="request_info"),
    path("<uuid:public_id>/stage/", detail.deal_stage, name="stage"),
]
