from django.urls import path

from conversations import attachment_views, team_views, views

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

# Teams, sharing a thread with a team, read-only share links (issue 6).
urlpatterns += [
    path("teams/", team_views.team_list, name="teams"),
    path("teams/new/", team_views.team_create, name="team-create"),
    path("teams/<int:team_id>/", team_views.team_detail, name="team"),
    path("teams/<int:team_id>/members/", team_views.member_add, name="team-member-add"),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/role/",
        team_views.member_role,
        name="team-member-role",
    ),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/remove/",
        team_views.member_remove,
        name="team-member-remove",
    ),
    path("teams/<int:team_id>/leave/", team_views.team_leave, name="team-leave"),
    path(
        "threads/<uuid:thread_id>/share/", team_views.thread_share, name="thread-share"
    ),
    path(
        "threads/<uuid:thread_id>/links/",
        team_views.share_link_create,
        name="share-link-create",
    ),
    path(
        "threads/<uuid:thread_id>/links/<int:link_id>/revoke/",
        team_views.share_link_revoke,
        name="share-link-revoke",
    ),
    path("share/<str:token>/", team_views.share_link_page, name="share-link"),
]
