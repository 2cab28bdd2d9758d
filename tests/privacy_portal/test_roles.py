"""Roles as groups, each landing on its own home page; the IT admin manages staff and nothing else."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from privacy_portal.models import User
from privacy_portal.roles import ROLE_PERMISSIONS, group_name

pytestmark = pytest.mark.django_db

HOME_HEADINGS = {
    "agent": b"<h1>Customer desk</h1>",
    "handler": b"<h1>My cases</h1>",
    "dpo": b"<h1>DPO dashboard</h1>",
    "auditor": b"<h1>Audit</h1>",
    "itadmin": b"<h1>Staff accounts</h1>",
}


def test_the_data_migration_created_one_group_per_role():
    names = set(Group.objects.values_list("name", flat=True))
    assert {group_name(r) for r in User.Role.values} <= names


def test_groups_carry_the_declared_permissions():
    itadmin = Group.objects.get(name=group_name(User.Role.ITADMIN))
    codenames = set(itadmin.permissions.values_list("codename", flat=True))
    assert codenames == {"use_portal", "manage_staff", "view_user", "add_user", "change_user"}
    auditor = Group.objects.get(name=group_name(User.Role.AUDITOR))
    assert all(
        c.startswith("view_") or c in ("use_portal", "search_history")
        for c in auditor.permissions.values_list("codename", flat=True)
    )


def test_every_role_has_permissions_declared():
    assert set(ROLE_PERMISSIONS) == set(User.Role.values)


@pytest.mark.parametrize("role", list(HOME_HEADINGS))
def test_each_role_lands_on_its_own_home_page(client_for, cast, role):
    client = client_for(cast[role])
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert HOME_HEADINGS[role] in response.content


def test_staff_member_without_a_role_is_refused(client_for, nobody):
    client = client_for(nobody)
    assert client.get(reverse("home")).status_code == 403


@pytest.mark.parametrize("role", ["agent", "handler", "dpo", "auditor", "nobody"])
def test_only_the_it_admin_reaches_the_staff_pages(client_for, cast, role):
    client = client_for(cast[role])
    for url in (reverse("staff_list"), reverse("staff_create"), reverse("staff_edit", args=[cast["agent"].pk])):
        assert client.get(url).status_code == 403, (role, url)
    assert client.post(reverse("staff_reset_mfa", args=[cast["agent"].pk])).status_code == 403


def test_navigation_shows_staff_link_only_to_the_it_admin(client_for, agent, itadmin):
    client = client_for(itadmin)
    assert b'href="/staff/"' in client.get(reverse("home")).content
    client = client_for(agent)
    assert b'href="/staff/"' not in client.get(reverse("home")).content


@pytest.mark.parametrize("role", ["dpo", "agent", "handler", "auditor", "itadmin"])
def test_the_top_navigation_leads_the_dpo_alone_to_the_dialler_tokens_and_the_legal_holds(client_for, cast, role):
    """Hostile review: both DPO pages were reachable only from other pages (the screening page,
    the retention schedule), so a DPO asked to revoke a leaked token had to know where to look."""
    page = client_for(cast[role]).get(reverse("home")).content.decode()
    nav = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
    for url in (reverse("customers:dialler_tokens"), reverse("customers:legal_holds")):
        assert (f'href="{url}"' in nav) is (role == "dpo"), (role, url)


def test_it_admin_holds_no_customer_or_case_permission(itadmin):
    perms = itadmin.get_all_permissions()
    assert not [p for p in perms if p.startswith(("customers.", "requests."))]
