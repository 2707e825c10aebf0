from django.urls import path

from conversations import attachment_views, views

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
    # Issue #11: attachments and search by meaning.
    path(
        "threads/<uuid:thread_id>/attachments/",
        attachment_views.attachment_upload,
        name="attachment-upload",
    ),
    path(
        "attachments/<int:attachment_id>/",
        attachment_views.attachment_file,
        name="attachment",
    ),
    path(
        "attachments/<int:attachment_id>/remove/",
        attachment_views.attachment_remove,
        name="attachment-remove",
    ),
    path("search/similar/", attachment_views.search_similar, name="search-similar"),
]
