"""The rules on staff rows in roles.py: the owner's row and the owner role are the owner's."""

from __future__ import annotations

from careportal.agencies.models import StaffRole
from careportal.backoffice import roles


def test_it_knows_the_owner_only_by_an_active_owner_membership(cast):
    assert roles.is_owner(cast.owner)
    assert roles.is_owner(cast.harriet)
    assert not roles.is_owner(cast.administrator)
    assert not roles.is_owner(cast.margaret.user)
    cast.owner.is_active = False
    assert not roles.is_owner(cast.owner)


def test_it_leaves_the_owners_row_to_the_owner(cast):
    owner_row = cast.owner.staff_membership
    scheduler_row = cast.scheduler.staff_membership
    assert roles.may_change_staff_row(cast.owner, owner_row)
    assert not roles.may_change_staff_row(cast.administrator, owner_row)
    assert roles.may_change_staff_row(cast.administrator, scheduler_row)
    assert roles.may_remove_staff_row(cast.owner, scheduler_row)
    assert not roles.may_remove_staff_row(cast.administrator, owner_row)


def test_it_keeps_everyone_from_their_own_role_and_row(cast):
    own_row = cast.owner.staff_membership
    assert not roles.may_change_role_of(cast.owner, own_row)
    assert not roles.may_remove_staff_row(cast.owner, own_row)
    assert roles.may_change_role_of(cast.owner, cast.administrator.staff_membership)


def test_it_lets_only_the_owner_give_the_owner_role(cast):
    assert roles.may_give_role(cast.owner, StaffRole.OWNER)
    assert not roles.may_give_role(cast.administrator, StaffRole.OWNER)
    assert roles.may_give_role(cast.administrator, StaffRole.SCHEDULER)
