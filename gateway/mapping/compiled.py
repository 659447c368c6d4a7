"""A compiled mapping: applies one spec to records (→ Bundle) and Bundles (→ partner records)."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import Any

from jmespath.exceptions import JMESPathError

from gateway.codecs import SourceRecord
from gateway.errors import ConfigurationError, SkippableRecordError
from gateway.mapping.compiler import VARIABLE, MappingSpec, ResourceTemplate
from gateway.mapping.coverage import emitted_paths, leaf_paths, read_paths
from gateway.mapping.expressions import REFERENCE_INDEX, Path, Roots, truthy
from gateway.mapping.fill import compile_fill
from gateway.mapping.nodes import FieldFailure, RunState, as_items, is_empty, key_text

ID_NAMESPACE = uuid.UUID("6f1c2b0e-7d0a-5b8e-9a43-2f6f1d0c9e51")
"""Namespace of every id the mappings derive (uuid5): fixed forever, or ids would change."""
SENSITIVITY_SYSTEM = "urn:fr:reseau-emploi:sensitivity"
MAPPING_EXTENSION = "urn:fr:reseau-emploi:extension:mapping"
"""Bundle extension naming the mapping and its version that produced the Bundle (for audit and replay)."""
_BOUND_CACHE_SIZE = 64

OptionSources = Mapping[tuple[str, str], tuple[str, int | None]]
"""("options" | "writer_options", key) → (spec file, line) where the option is written."""


class CompiledMapping:
    """One spec compiled once; thread-safe to share (no state is kept between calls)."""

    def __init__(
        self,
        spec: MappingSpec,
        option_sources: OptionSources | None = None,
        *,
        rebuild: Callable[[Mapping[str, str]], CompiledMapping] | None = None,
    ) -> None:
        self.spec = spec
        self._option_sources = dict(option_sources or {})
        self._rebuild = rebuild
        self._bound: dict[tuple[tuple[str, str], ...], CompiledMapping] = {}
        self._bound_lock = threading.Lock()
        self._types = {t.name: t.resource_type for t in spec.resources}
        self._null_values = spec.source.null_values
        self._bundle_meta = {"source": spec.partner_system}
        self._bundle_extension = [{"url": MAPPING_EXTENSION, "valueString": f"{spec.name}@{spec.version}"}]
        self._id_prefix = ID_NAMESPACE.bytes + f"{spec.name}|".encode()
        self._fills = {template.name: compile_fill(template.assignments) for template in spec.resources}
        self._reverse_fill = compile_fill(spec.reverse.assignments) if spec.reverse is not None else None

    # ------------------------------------------------------------------------------------ description

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def has_reverse(self) -> bool:
        return self.spec.reverse is not None

    def __repr__(self) -> str:
        return f"CompiledMapping({self.spec.name!r}, version={self.spec.version!r})"

    def bind(self, variables: Mapping[str, str] | None) -> CompiledMapping:
        """This mapping with its spec variables (``variables:`` section) set from ``variables``.

        Names the spec does not declare are ignored (run-time variables also serve codec options). Returns
        ``self`` when nothing changes; otherwise the spec is compiled again for those values, once (cached).
        """
        declared = self.spec.variables
        changes = {k: str(v) for k, v in (variables or {}).items() if k in declared and declared[k] != str(v)}
        if not changes:
            return self
        if self._rebuild is None:
            raise ConfigurationError(
                f"mapping {self.spec.name!r} was not loaded from a file: its variables cannot be changed",
                file=str(self.spec.path),
            )
        key = tuple(sorted(changes.items()))
        with self._bound_lock:
            bound = self._bound.get(key)
        if bound is None:
            bound = self._rebuild({**declared, **changes})
            with self._bound_lock:
                if len(self._bound) >= _BOUND_CACHE_SIZE:
                    self._bound.pop(next(iter(self._bound)))
                bound = self._bound.setdefault(key, bound)
        return bound

    @cached_property
    def _emitted(self) -> frozenset[str]:
        return emitted_paths(self.spec.resources)

    def emitted_field_paths(self) -> frozenset[str]:
        """Every canonical field path this mapping can produce (``Person.birthDate``…)."""
        return self._emitted

    def emitted_security_labels(self) -> frozenset[tuple[str, str]]:
        """(resourceType, sensitivity code) pairs the mapping can label: conventions must allow them."""
        return frozenset((t.resource_type, label.code) for t in self.spec.resources for label in t.security)

    @cached_property
    def _reads(self) -> frozenset[Path]:
        return read_paths(self.spec.resources)

    def unused_source_fields(self, record: SourceRecord | Mapping[str, Any]) -> list[str]:
        """Non-empty source leaves (dotted paths, list indices dropped) that no field expression reads."""
        data = record.data if isinstance(record, SourceRecord) else record
        if self._null_values:
            data = self._drop_nulls(data)
        reads = self._reads
        unused = {
            ".".join(path)
            for path in leaf_paths(data)
            if not any(path[: len(read)] == read for read in reads)
        }
        return sorted(unused)

    # ----------------------------------------------------------------------------------- forward

    def to_canonical(self, record: SourceRecord) -> dict[str, Any]:
        """Map one partner record to a Bundle; SkippableRecordError (with location, no value) if it cannot."""
        data = self._drop_nulls(record.data) if self._null_values else record.data
        state = RunState(Roots(record=data, context=record.context), {}, self._types)
        try:
            instances = self._instances(data, state)
            if not instances:
                raise FieldFailure(
                    "Bundle", "the record produced no resource (every resource's `when` is false)"
                )
            entries = [self._resource(template, scopes, rid, state) for template, scopes, rid in instances]
        except FieldFailure as failure:
            raise SkippableRecordError(
                failure.reason,
                file=record.source,
                record=record.number,
                line=record.line,
                field=failure.field_label,
            ) from None
        except JMESPathError as exc:  # a resource's foreach/when/id expression: no field to name
            raise SkippableRecordError(
                f"the data has an unexpected type for a resource expression ({type(exc).__name__})",
                file=record.source,
                record=record.number,
                line=record.line,
            ) from None
        ids = sorted(entry["resource"]["id"] for entry in entries)
        return {
            "resourceType": "Bundle",
            "id": self._uuid("Bundle", ",".join(ids)),
            "type": "collection",
            "meta": dict(self._bundle_meta),
            "extension": [dict(e) for e in self._bundle_extension],
            "entry": entries,
        }

    def map_and_validate(self, record: SourceRecord) -> dict[str, Any]:
        """``to_canonical``, then canonical validation; issues → SkippableRecordError (paths, rules)."""
        from gateway.model.validation import get_validator

        bundle = self.to_canonical(record)
        issues = get_validator().validate(bundle)
        if issues:
            first = issues[0]
            raise SkippableRecordError(
                f"invalid canonical output ({len(issues)} issue(s)), first: {first}",
                file=record.source,
                record=record.number,
                line=record.line,
                field=f"{first.resource_type}:{first.path}",
            )
        return bundle

    def _uuid(self, resource_type: str, key: str) -> str:
        return uuid5_text(self._id_prefix + f"{resource_type}|{key}".encode())

    def _instances(self, data: Any, state: RunState) -> list[tuple[ResourceTemplate, list[Any], str]]:
        """Pass 1: which resources exist, their scopes and ids (so that references can point at them).

        ``foreach`` items with the same id key follow the template's ``on_duplicate_key``: ``reject`` the
        record, keep the ``first`` item's resource, or ``merge`` the resources of all those items.
        """
        instances: list[tuple[ResourceTemplate, list[Any], str]] = []
        seen: set[str] = set()
        roots = state.roots
        for template in self.spec.resources:
            scopes = as_items(template.foreach.evaluate(data, roots)) if template.foreach else [data]
            ids: dict[str, str] = {}
            positions: dict[str, int] = {}
            for scope in scopes:
                if template.when is not None and not truthy(template.when.evaluate(scope, roots)):
                    continue
                key = key_text(template.id_expr.evaluate(scope, roots))
                if key is None:
                    raise FieldFailure(
                        f"{template.resource_type}.id", f"id key {template.id_expr.text!r} gives no value"
                    )
                if key in ids:
                    if template.on_duplicate_key == "merge":
                        instances[positions[key]][1].append(scope)
                    elif template.on_duplicate_key == "reject":
                        raise FieldFailure(
                            f"{template.resource_type}.id",
                            f"resource {template.name!r}: two foreach items give the same id key "
                            f"{template.id_expr.text!r} (on_duplicate_key: merge or first share one "
                            "resource)",
                        )
                    continue
                ids[key] = rid = self._uuid(template.resource_type, key)
                if rid in seen:
                    raise FieldFailure(
                        f"{template.resource_type}.id",
                        f"{template.name!r} repeats the id of another resource",
                    )
                seen.add(rid)
                positions[key] = len(instances)
                instances.append((template, [scope], rid))
            if template.foreach is not None:
                state.ids[template.name] = ids
            elif ids:
                state.ids[template.name] = next(iter(ids.values()))
        return instances

    def _resource(
        self, template: ResourceTemplate, scopes: list[Any], rid: str, state: RunState
    ) -> dict[str, Any]:
        resource = self._build(template, scopes[0], rid, state)
        for scope in scopes[1:]:
            merge_into(resource, self._build(template, scope, rid, state))
        return {"fullUrl": f"urn:uuid:{rid}", "resource": resource}

    def _build(self, template: ResourceTemplate, scope: Any, rid: str, state: RunState) -> dict[str, Any]:
        meta: dict[str, Any] = {"source": self.spec.partner_system}
        resource: dict[str, Any] = {"resourceType": template.resource_type, "id": rid, "meta": meta}
        self._fills[template.name](resource, scope, state)
        if template.security:
            labels = [
                {"system": SENSITIVITY_SYSTEM, "code": label.code}
                for label in template.security
                if label.when is None or truthy(label.when.evaluate(scope, state.roots))
            ]
            if labels:
                meta["security"] = labels
        return resource

    def _drop_nulls(self, value: Any) -> Any:
        """Remove values listed in ``source.null_values`` (e.g. "NULL" in France Travail extractions)."""
        if isinstance(value, Mapping):
            return {
                k: self._drop_nulls(v)
                for k, v in value.items()
                if not (isinstance(v, str) and v in self._null_values)
            }
        if isinstance(value, list):
            return [self._drop_nulls(v) for v in value if not (isinstance(v, str) and v in self._null_values)]
        return value

    # ----------------------------------------------------------------------------------- reverse

    def from_canonical(self, bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Partner records (dict trees for the codec writer) for one Bundle."""
        reverse, fill = self.spec.reverse, self._reverse_fill
        if reverse is None or fill is None:
            raise ConfigurationError(
                f"mapping {self.spec.name!r} has no reverse section: it cannot produce the partner format",
                file=str(self.spec.path),
            )
        view, index = bundle_view(bundle)
        token = REFERENCE_INDEX.set(index)
        try:
            state = RunState(Roots(view=view))
            if reverse.when is not None and not truthy(reverse.when.evaluate(view, state.roots)):
                return []
            scopes = as_items(reverse.foreach.evaluate(view, state.roots)) if reverse.foreach else [view]
            records: list[dict[str, Any]] = []
            for scope in scopes:
                record: dict[str, Any] = {}
                fill(record, scope, state)
                if record:
                    records.append(record)
            return records
        except FieldFailure as failure:
            bundle_id = bundle.get("id")
            raise SkippableRecordError(
                f"bundle {bundle_id}: {failure.reason}" if isinstance(bundle_id, str) else failure.reason,
                field=failure.field_label,
            ) from None
        except JMESPathError as exc:
            raise SkippableRecordError(
                f"the Bundle has an unexpected type for an expression ({type(exc).__name__})"
            ) from None
        finally:
            REFERENCE_INDEX.reset(token)

    # ----------------------------------------------------------------------------------- codec options

    def codec_options(
        self,
        overrides: Mapping[str, Any] | None = None,
        variables: Mapping[str, str] | None = None,
        *,
        writer: bool = False,
    ) -> dict[str, Any]:
        """Reader options (``source.options``), or writer options (``source.writer_options``), with run-time
        overrides; ``${NAME}`` resolved from ``variables``, then the environment, then the spec variables."""
        section = "writer_options" if writer else "options"
        options = dict(self.spec.source.writer_options if writer else self.spec.source.options)
        options.update(overrides or {})
        return {key: self._resolve(section, key, value, variables or {}) for key, value in options.items()}

    def _resolve(self, section: str, key: str, value: Any, variables: Mapping[str, str]) -> Any:
        if not isinstance(value, str):
            return value

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            found = variables.get(name, os.environ.get(name, self.spec.variables.get(name)))
            if found is None:
                file, line = self._option_sources.get((section, key), (str(self.spec.path), None))
                raise ConfigurationError(
                    f"source.{section}.{key}: variable ${{{name}}} is not set (give it with --var {name}=… "
                    f"or the environment)",
                    file=file,
                    line=line,
                )
            return str(found)

        return VARIABLE.sub(substitute, value)


def uuid5_text(name: bytes) -> str:
    """``str(uuid.uuid5(ID_NAMESPACE, …))`` given the namespace bytes + the UTF-8 name, without building a
    UUID object (several per record): SHA-1, then the version (5) and RFC 4122 variant bits."""
    digest = hashlib.sha1(name).hexdigest()  # noqa: S324  # UUID version 5 is defined on SHA-1
    variant = "89ab"[int(digest[16], 16) & 3]
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


def merge_into(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """``on_duplicate_key: merge``: objects merge key by key, lists gain the items they lack, and for a
    value set in both the first one stays."""
    for key, value in extra.items():
        current = target.get(key)
        if key not in target or is_empty(current):
            target[key] = value
        elif isinstance(current, dict) and isinstance(value, Mapping):
            merge_into(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            current.extend(item for item in value if item not in current)


def bundle_view(bundle: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scope of reverse expressions, and the "Type/id" index ``resolve()`` uses."""
    view: dict[str, Any] = {"Bundle": bundle}
    everything: dict[str, list[Any]] = {}
    index: dict[str, Any] = {}
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            continue
        resource_type = resource.get("resourceType")
        if not isinstance(resource_type, str):
            continue
        everything.setdefault(resource_type, []).append(resource)
        view.setdefault(resource_type, resource)
        index[f"{resource_type}/{resource.get('id')}"] = resource
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            index[full_url] = resource
    view["all"] = everything
    return view, index


def iter_resources(bundle: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The resources of a Bundle, in order."""
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping):
            yield resource
