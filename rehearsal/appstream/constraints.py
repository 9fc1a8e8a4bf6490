"""The simulation held to botocore's model of AppStream.

Requests are checked for what the service checks and botocore does not (`pattern`, `max`,
`enum`, map sizes); scripted state and the simulation's own responses are checked against the
model too, so a fault in the simulation cannot pass for one in the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import regex  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import ParamValidationError  # type: ignore[import-untyped, unused-ignore]
from botocore.model import (  # type: ignore[import-untyped, unused-ignore]
    ListShape,
    MapShape,
    OperationModel,
    Shape,
    StructureShape,
)
from botocore.session import get_session  # type: ignore[import-untyped, unused-ignore]
from botocore.validate import validate_parameters  # type: ignore[import-untyped, unused-ignore]

from rehearsal.appstream.state import SimulationError

APPSTREAM_MODEL = get_session().get_service_model("appstream")


def request_violations(operation: str, params: Mapping[str, Any]) -> list[str]:
    """What AppStream itself would refuse in these request parameters (pattern, length,
    enum: the constraints botocore leaves to the service), per the botocore model."""
    shape = APPSTREAM_MODEL.operation_model(operation).input_shape
    if shape is None:
        raise ValueError(f"{operation} takes no parameters")
    return list(constraint_violations(params, shape, ""))


def constraint_violations(
    value: Any, shape: Shape, path: str, *, for_output: bool = False
) -> Iterator[str]:
    """What the service checks and botocore does not, worded as AWS words it."""
    yield from _own_violations(value, shape, path, for_output=for_output)
    for child, child_shape, child_path in _children(value, shape, path):
        yield from constraint_violations(child, child_shape, child_path, for_output=for_output)


def _own_violations(value: Any, shape: Shape, path: str, *, for_output: bool) -> Iterator[str]:
    metadata = shape.metadata
    if shape.type_name in ("list", "map"):
        # Services return empty collections whatever the minimum says.
        if value or not for_output:
            yield from _size_violations(len(value), metadata, path, "length")
    elif shape.type_name == "string":
        yield from _size_violations(len(value), metadata, path, "length")
        # Returned values may be newer than the model (the architecture treats states and
        # reason codes as open sets), so only requests are held to the enum.
        if not for_output and "enum" in metadata and value not in metadata["enum"]:
            yield (
                f"Value {value!r} at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: {metadata['enum']}"
            )
        if "pattern" in metadata and regex.search(metadata["pattern"], value) is None:
            yield (
                f"Value {value!r} at '{path}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {metadata['pattern']}"
            )
    elif shape.type_name in ("integer", "long"):
        yield from _size_violations(value, metadata, path, "value")


def _children(value: Any, shape: Shape, path: str) -> Iterator[tuple[Any, Shape, str]]:
    if isinstance(shape, StructureShape):
        for name, member in value.items():
            if name in shape.members:  # unknown members are botocore's to reject
                yield member, shape.members[name], f"{path}.{name}" if path else name
    elif isinstance(shape, ListShape):
        for index, item in enumerate(value):
            yield item, shape.member, f"{path}[{index}]"
    elif isinstance(shape, MapShape):
        for key, item in value.items():
            yield key, shape.key, f"{path}.key"
            yield item, shape.value, f"{path}[{key!r}]"


def _size_violations(
    size: int, metadata: Mapping[str, Any], where: str, kind: str
) -> Iterator[str]:
    if "min" in metadata and size < metadata["min"]:
        yield (
            f"Value at '{where}' failed to satisfy constraint: "
            f"Member must have {kind} greater than or equal to {metadata['min']}"
        )
    if "max" in metadata and size > metadata["max"]:
        yield (
            f"Value at '{where}' failed to satisfy constraint: "
            f"Member must have {kind} less than or equal to {metadata['max']}"
        )


def require_valid(value: Mapping[str, Any], shape: Shape, what: str) -> None:
    """Scripted state must be something AppStream could return."""
    problems = list(constraint_violations(value, shape, what, for_output=True))
    try:
        validate_parameters(value, shape)
    except ParamValidationError as error:
        problems.append(str(error))
    if problems:
        raise ValueError(f"not a valid AppStream {what}: " + "; ".join(problems))


def require_enum(value: str, shape_name: str, what: str) -> None:
    """Scripted values must be ones the model knows (`require_valid` does not hold returned
    values to enums, which may be newer than the model)."""
    allowed = APPSTREAM_MODEL.shape_for(shape_name).metadata.get("enum", [])
    if value not in allowed:
        raise SimulationError(f"{value!r} is no AppStream {what}: one of {allowed}")


def require_valid_fleet(fleet: Mapping[str, Any]) -> None:
    """A scripted fleet must be one DescribeFleets could return."""
    try:
        require_valid(fleet, APPSTREAM_MODEL.shape_for("Fleet"), "fleet")
    except ValueError as error:
        raise SimulationError(str(error)) from error


def require_valid_fleet_tags(tags: Mapping[str, str]) -> None:
    """Scripted tags must be ones TagResource could have set (no "aws:" keys, at most 50)."""
    if not tags:
        return
    try:
        require_valid(dict(tags), APPSTREAM_MODEL.shape_for("Tags"), "tags")
    except ValueError as error:
        raise SimulationError(str(error)) from error


def require_valid_response(operation: OperationModel, result: Mapping[str, Any]) -> None:
    assert operation.output_shape is not None  # every operation we answer has output
    try:
        require_valid(result, operation.output_shape, f"{operation.name} response")
    except ValueError as error:
        raise SimulationError(f"the simulation produced an invalid response: {error}") from error
