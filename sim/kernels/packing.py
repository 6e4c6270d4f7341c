"""Row indices of flagged bytes, sixteen at a time: a vector compress the compiler cannot write.

A branch-free compaction loop (``out[at] = i; at += flag[i]``) costs about a
cycle a row, and Numba's loop vectoriser does not turn it into vector code.
:func:`pack16` emits LLVM's generic ``llvm.experimental.vector.compress``
for sixteen rows at once: on AVX-512 (this machine, ``znver4``) one
``vpcompressd`` in a register and one store; LLVM expands it for other
processors, with the same result (tested with a generic x86-64 target).
1.24M flags, 30% set, one thread: 0.34 -> 0.08 ms.
"""

from __future__ import annotations

from typing import Any, cast

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["pack16"]

_LANES = 16


@intrinsic
def _pack16(typingctx: Any, out: Any, at: Any, base: Any, flags: Any, j: Any) -> Any:
    """``base + q`` for each ``q < 16`` with ``flags[j + q] != 0``, in order, to ``out[at:]``.

    ``out`` is a ``uint32`` array, ``flags`` a ``uint8`` one, ``at``, ``base``
    and ``j`` unsigned 64-bit integers. All sixteen lanes are stored (those
    past the count hold anything): ``out`` needs room for sixteen from ``at``.
    Returns how many were flagged (``uint64``).
    """
    sig = types.uint64(out, at, base, flags, j)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        out_type, _, _, flags_type, _ = signature.args
        out_arg, at_arg, base_arg, flags_arg, j_arg = args
        out_data = context.make_array(out_type)(context, builder, out_arg).data
        flags_data = context.make_array(flags_type)(context, builder, flags_arg).data
        i1, i8, i16, i32 = ir.IntType(1), ir.IntType(8), ir.IntType(16), ir.IntType(32)
        bytes_t = ir.VectorType(i8, _LANES)
        ints_t, mask_t = ir.VectorType(i32, _LANES), ir.VectorType(i1, _LANES)
        loaded = builder.load(builder.bitcast(builder.gep(flags_data, [j_arg]),
                                              bytes_t.as_pointer()), align=1)
        mask = builder.icmp_unsigned("!=", loaded, ir.Constant(bytes_t, [0] * _LANES))
        first = builder.insert_element(ir.Constant(ints_t, ir.Undefined),
                                       builder.trunc(base_arg, i32), ir.Constant(i32, 0))
        splat = builder.shuffle_vector(first, ir.Constant(ints_t, ir.Undefined),
                                       ir.Constant(ints_t, [0] * _LANES))
        rows = builder.add(splat, ir.Constant(ints_t, list(range(_LANES))))
        module = builder.module
        name = f"llvm.experimental.vector.compress.v{_LANES}i32"
        compress = module.globals.get(name) or ir.Function(
            module, ir.FunctionType(ints_t, [ints_t, mask_t, ints_t]), name)
        packed = builder.call(compress, [rows, mask, ir.Constant(ints_t, ir.Undefined)])
        builder.store(packed, builder.bitcast(builder.gep(out_data, [at_arg]),
                                              ints_t.as_pointer()), align=4)
        popcount = module.globals.get("llvm.ctpop.i16") or ir.Function(
            module, ir.FunctionType(i16, [i16]), "llvm.ctpop.i16")
        return builder.zext(builder.call(popcount, [builder.bitcast(mask, i16)]),
                            ir.IntType(64))

    return sig, codegen


#: Called from compiled code as ``pack16(out, at, base, flags, j)`` (Numba passes the typing
#: context itself).
pack16 = cast(Any, _pack16)
