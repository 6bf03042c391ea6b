from django.urls import path

from openprm.core import views

app_name = "core"

urlpatterns = [
    path("jobs/", views.jobs, name="jobs"),
]
