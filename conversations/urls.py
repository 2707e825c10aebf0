from django.urls import path

from conversations import views

urlpatterns = [
    path("", views.home, name="home"),
    path("archived/", views.archived, name="archived"),
    path("search/", views.thread_search, name="search"),
    path("threads/new/", views.thread_new, name="thread-new"),
    path("threads/<uuid:thread_id>/", views.thread_detail, name="thread"),
    path("threads/<uuid:thread_id>/older/", views.thread_older, name="thread-older"),
    path("threads/<uuid:thread_id>/rename/", views.thread_rename, name="thread-rename"),
    path(
        "threads/<uuid:thread_id>/archive/", views.thread_archive, name="thread-archive"
    ),
    path("threads/<uuid:thread_id>/delete/", views.thread_delete, name="thread-delete"),
    path(
        "threads/<uuid:thread_id>/settings/",
        views.thread_settings,
        name="thread-settings",
    ),
    path(
        "threads/<uuid:thread_id>/export.md",
        views.thread_export_markdown,
        name="thread-export-markdown",
    ),
    path(
        "threads/<uuid:thread_id>/export.json",
        views.thread_export_json,
        name="thread-export-json",
    ),
    path("threads/import/", views.thread_import, name="thread-import"),
    path("accounts/signup/", views.signup, name="signup"),
]
