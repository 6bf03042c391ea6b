from django.urls import path

from openprm.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("count/", views.notification_count, name="count"),
    path("read-all/", views.notification_read_all, name="read_all"),
    path("<uuid:public_id>/read/", views.notification_read, name="read"),
    path("preferences/", views.preferences, name="preferences"),
    path("webhooks/", views.endpoints, name="endpoints"),
    path("webhooks/<uuid:public_id>/", views.endpoint_edit, name="endpoint_edit"),
    path("webhooks/<uuid:public_id>/rotate/", views.endpoint_rotate, name="endpoint_rotate"),
    path("webhooks/<uuid:public_id>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("deliveries/", views.deliveries, name="deliveries"),
]
