"""Create, update and delete one row through the same batch rules the loader uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from app.core.errors import APIError, Conflict, NotFound, ValidationFailed, error_loc
from app.feed.changes import record_change
from app.kit.read import ReadForm, Row
from app.kit.rules import Item, RecordError


@dataclass(frozen=True)
class Blocker:
    """Rows elsewhere that keep a row from being deleted."""

    what: str
    count: Callable[[Session, int], int]


def counter(column: sa.SQLColumnExpression[int | None]) -> Callable[[Session, int], int]:
    def count(session: Session, row_id: int) -> int:
        return int(session.scalar(sa.select(sa.func.count()).where(column == row_id)) or 0)

    return count


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    singular: str
    model: type[SQLModel]
    create: type[BaseModel]
    save: Callable[[Session, Sequence[Any]], None]
    form: ReadForm
    blockers: tuple[Blocker, ...]
    owned_by: tuple[Any, ...] = ()  # the owner-id column of each table of owned rows
    detail: ReadForm | None = None  # the single read, when it embeds more than a list row


def _as_input(create: type[BaseModel], form: Row) -> dict[str, object]:
    """A read form as its create payload: the base a PATCH is merged onto. Embedded rows are
    cut back to the fields their input takes (an event's actors to `{actor_id, role}`, a
    statement's mentions to their ids)."""
    payload: dict[str, object] = {}
    for name, info in create.model_fields.items():
        value = form[name]
        if isinstance(value, list) and value and isinstance(value[0], dict):
            item_type = get_args(info.annotation)[0]
            if isinstance(item_type, type) and issubclass(item_type, BaseModel):
                value = [{k: item[k] for k in item_type.model_fields} for item in value]
            else:
                value = [item["id"] for item in value]
        payload[name] = value
    return payload


def get_row(session: Session, spec: ResourceSpec, row_id: int, *, lock: bool = False) -> Any:
    """The row or a 404; `lock` holds it until commit so concurrent writers queue up."""
    row = session.get(spec.model, row_id, with_for_update=lock or None)
    if row is None:
        raise NotFound(f"no {spec.singular} with id {row_id}")
    return row


def read_form(session: Session, spec: ResourceSpec, row: Any) -> Row:
    """The row as a single read shows it (also what its ETag is computed from)."""
    return read_one(session, spec, row.id)


def read_one(session: Session, spec: ResourceSpec, row_id: int) -> Row:
    """A single read by id, or a 404."""
    form = (spec.detail or spec.form).one(session, row_id)
    if form is None:
        raise NotFound(f"no {spec.singular} with id {row_id}")
    return form


def _as_api_error(exc: RecordError) -> APIError:
    if exc.conflict:
        return Conflict(exc.message, errors=[{"loc": ["body", exc.field], "msg": exc.message}])
    return ValidationFailed(exc.message, loc=["body", exc.field])


def _save_one(session: Session, spec: ResourceSpec, row: Any, data: BaseModel) -> Any:
    item: Item[Any, Any] = Item(row, data)
    try:
        spec.save(session, [item])
    except RecordError as exc:
        raise _as_api_error(exc) from None
    return session.get(spec.model, item.id, populate_existing=True)


def create(session: Session, spec: ResourceSpec, data: BaseModel) -> Any:
    return _save_one(session, spec, None, data)


def stored_input(session: Session, spec: ResourceSpec, row: Any) -> dict[str, object]:
    """The row as its create payload: the base a PATCH is merged onto."""
    return _as_input(spec.create, read_form(session, spec, row))


def update(session: Session, spec: ResourceSpec, row: Any, changes: Mapping[str, object]) -> Any:
    """Apply the sent fields and judge the row as it would be after the change."""
    merged = {**stored_input(session, spec, row), **changes}
    try:
        data = spec.create.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc: list[str | int] = ["body", *error_loc(first)]
        where = ".".join(map(str, loc[1:]))
        raise ValidationFailed(
            f"{where}: {first['msg']}" if where else first["msg"], loc=loc, msg=first["msg"]
        ) from None
    return _save_one(session, spec, row, data)


def delete(session: Session, spec: ResourceSpec, row: Any) -> None:
    """Delete a row nothing else refers to; rows it owns go with it."""
    for blocker in spec.blockers:
        count = blocker.count(session, row.id)
        if count:
            raise Conflict(
                f"{spec.singular} {row.id} is still referred to by {count} "
                f"{blocker.what}; remove those references first"
            )
    for owner in spec.owned_by:
        session.execute(sa.delete(owner.table).where(owner == row.id))
    record_change(session, spec.name, row.id, row.ref, "delete")
    session.delete(row)
    session.flush()
