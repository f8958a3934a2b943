"""JSON encoding of analysis messages: arrays, round requests and local replies.

An array travels as ``{"dtype": "<f8", "shape": [3, 2], "data": base64(little-endian bytes)}``
so integers (int64, uint64: fixed-point secure-aggregation shares) and float64 sums arrive
bit for bit; decimal JSON numbers would round them. Only plain numeric and boolean dtypes
are accepted on the way in: an object or structured dtype is refused, never unpickled.

Hub and node both import this module (it needs only NumPy and `genomesh.core`), so the
layering contract holds: they share the wire format, not each other's code.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from genomesh.analysis.protocol import LocalReply, RoundRequest
from genomesh.core.errors import InvalidInputError

# kind letters numpy uses: bool, signed int, unsigned int, float, complex
_KINDS = frozenset("biufc")
MAX_ARRAY_BYTES = 1 << 31  # 2 GiB: a single decoded array beyond this is refused


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """`array` as a JSON-able dict (dtype, shape, base64 of its little-endian bytes)."""
    array = np.asarray(array)
    if array.dtype.kind not in _KINDS:
        raise InvalidInputError(f"cannot send an array of dtype {array.dtype} (numbers only)")
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {
        "dtype": little.dtype.str,
        "shape": list(array.shape),
        "data": base64.b64encode(np.ascontiguousarray(little).tobytes()).decode("ascii"),
    }


def decode_array(encoded: Mapping[str, Any], *, field: str = "array") -> np.ndarray:
    """The array `encode_array` produced (native byte order, writable); bad input is refused
    with an error naming `field`."""
    if not isinstance(encoded, Mapping):
        raise InvalidInputError("an encoded array must be an object", field=field)
    try:
        dtype = np.dtype(str(encoded["dtype"]))
        shape = tuple(int(n) for n in encoded["shape"])
        raw = base64.b64decode(str(encoded["data"]), validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise InvalidInputError(f"malformed encoded array: {exc}", field=field) from exc
    if dtype.kind not in _KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise InvalidInputError(f"array dtype {dtype} is not allowed", field=field)
    if any(n < 0 for n in shape):
        raise InvalidInputError("array shape has a negative size", field=field)
    expected = math.prod(shape) * dtype.itemsize
    if expected > MAX_ARRAY_BYTES or len(raw) != expected:
        raise InvalidInputError(
            f"array data is {len(raw)} bytes, shape {list(shape)} of {dtype} needs {expected}",
            field=field,
        )
    little = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).reshape(shape)
    return little.astype(dtype.newbyteorder("="), copy=True)


def encode_request(request: RoundRequest) -> dict[str, Any]:
    """A round request as JSON (params must already be JSON-able; arrays via encode_array)."""
    return {
        "analysis": request.analysis,
        "task_id": request.task_id,
        "round": request.round,
        "datasets": list(request.datasets),
        "params": dict(request.params),
    }


def decode_request(body: Any) -> RoundRequest:
    """The `RoundRequest` in a JSON body; each missing or mistyped field is named."""
    if not isinstance(body, Mapping):
        raise InvalidInputError("a round request must be an object", field="round")
    analysis, task_id = body.get("analysis"), body.get("task_id")
    round_, datasets, params = body.get("round"), body.get("datasets"), body.get("params", {})
    if not isinstance(analysis, str) or not analysis:
        raise InvalidInputError("round request names no analysis type", field="analysis")
    if not isinstance(task_id, str) or not task_id:
        raise InvalidInputError("round request has no task id", field="task_id")
    if not isinstance(round_, int) or isinstance(round_, bool) or round_ < 0:
        raise InvalidInputError("round must be a non-negative integer", field="round")
    if not isinstance(datasets, list) or not all(isinstance(d, str) for d in datasets):
        raise InvalidInputError("datasets must be a list of dataset ids", field="datasets")
    if not isinstance(params, Mapping):
        raise InvalidInputError("params must be an object", field="params")
    return RoundRequest(analysis, task_id, round_, tuple(datasets), dict(params))


def plain(value: Any, *, where: str = "values") -> Any:
    """`value` with NumPy scalars made Python numbers; an array here is refused (arrays go
    in `LocalReply.arrays`, encoded exactly)."""
    if isinstance(value, np.ndarray):
        raise InvalidInputError(
            f"{where} holds an array: put arrays in LocalReply.arrays", field=where
        )
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): plain(v, where=f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, where=where) for v in value]
    return value


def encode_reply(reply: LocalReply) -> dict[str, Any]:
    """A local reply as JSON. `contributors` stay at the node: they are never encoded."""
    return {
        "values": plain(reply.values),
        "arrays": {name: encode_array(a) for name, a in reply.arrays.items()},
        "suppressed": dict(reply.suppressed),
    }


def decode_reply(body: Any) -> LocalReply:
    """The `LocalReply` in a JSON body (no contributors: those never leave a node)."""
    if not isinstance(body, Mapping):
        raise InvalidInputError("a local reply must be an object", field="reply")
    values, arrays = body.get("values", {}), body.get("arrays", {})
    suppressed = body.get("suppressed", {})
    if not isinstance(values, dict) or not isinstance(arrays, dict):
        raise InvalidInputError("reply values and arrays must be objects", field="reply")
    if not isinstance(suppressed, dict):
        raise InvalidInputError("reply suppressed must be an object", field="suppressed")
    return LocalReply(
        values=values,
        arrays={name: decode_array(a, field=f"arrays.{name}") for name, a in arrays.items()},
        suppressed={str(k): str(v) for k, v in suppressed.items()},
    )


__all__ = [
    "MAX_ARRAY_BYTES",
    "decode_array",
    "decode_reply",
    "decode_request",
    "encode_array",
    "encode_reply",
    "encode_request",
    "plain",
]
