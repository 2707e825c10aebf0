from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # Before the admin's catch-all: the staff-only usage dashboard (issue #7).
    path("admin/usage/", include("conversations.admin_dashboard")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("conversations.urls")),
]
