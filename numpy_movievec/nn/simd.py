"""The one piece of hand-written SIMD: a 4-row block of a matrix product, in LLVM IR.

`kernels.matmul` computes ``out = a @ b`` by calling `multiply_block` on 4-row, 16·v-column
blocks of ``out``. A block is computed the way optimised BLAS libraries compute theirs (the
"micro-kernel" of BLIS and OpenBLAS): its 4 × v vectors of 16 running sums stay in registers
for the whole product, and each step along the inner dimension k does

    b_k = b[k, n:n + 16 v]               # v vector loads, shared by the 4 rows
    acc[r] += a[m + r, k] * b_k          # per row: one scalar broadcast, v fused multiply-adds

so every load feeds several multiply-adds, and no sum ever needs adding across a vector's lanes.

Why IR rather than Python loops: Numba hands loops to LLVM, whose vectoriser vectorises one
loop at a time. Written as loops, the sums either live in memory (a load and a store per
multiply-add) or run along k and end in a horizontal sum per output element, which costs more
than the multiply-adds themselves when k is 64. A vector type is not something Numba code can
name, so this block is written directly with llvmlite's IR builder. The measured difference is
in ``benchmarks/results/bench_kernels.md``.

The vectors are 16 float32 wide: a 512-bit register where the CPU has them (AVX-512); elsewhere
LLVM splits each into two or four narrower ones, and the code stays correct.

Numba's on-disk cache notices edits to the file of a cached function, not to this file, whose
code it inlines: after changing anything here, touch ``kernels.py`` (or delete its cached
``.nbi``/``.nbc`` files) so the kernels are compiled again.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

LANES = 16  # float32s per vector
BLOCK_ROWS = 4  # rows of ``out`` per block: 4 × 4 sums and 4 loaded vectors fit in 32 registers


@intrinsic
def multiply_block(typingctx, a, b, out, m, n, vectors):
    """``out[m:m+4, n:n+16*vectors] = a[m:m+4, :] @ b[:, n:n+16*vectors]``, all float32.

    ``b`` and ``out`` are C-contiguous 2-D arrays; ``a`` may have any strides (a transposed
    view reads as well as a row-major array: its elements are loaded one at a time).
    ``vectors`` must be a literal integer (it fixes how many sums the code keeps). The caller
    keeps every index in range: nothing is checked here. Reference: NumPy's ``@``, and
    `kernels.matmul` for the parts of a product that are not whole blocks.
    """
    def float32_matrix(array, layouts):
        return (isinstance(array, types.Array) and array.ndim == 2
                and array.dtype == types.float32 and array.layout in layouts)

    if not (isinstance(vectors, types.IntegerLiteral) and vectors.literal_value >= 1
            and float32_matrix(a, "CFA") and float32_matrix(b, "C") and float32_matrix(out, "C")
            and isinstance(m, types.Integer) and isinstance(n, types.Integer)):
        return None
    n_vectors = vectors.literal_value

    def codegen(context, builder, signature, args):
        f32, i32, i64 = ir.FloatType(), ir.IntType(32), ir.IntType(64)
        vector = ir.VectorType(f32, LANES)
        a_array, b_array, out_array = (context.make_array(signature.args[i])(
            context, builder, args[i]) for i in range(3))
        m_index, n_index = (context.cast(builder, args[i], signature.args[i], types.int64)
                            for i in (3, 4))

        def address(array, row, column_bytes):
            """The byte address of ``array[row, ...]`` plus ``column_bytes``, as an integer."""
            row_bytes = builder.mul(row, builder.extract_value(array.strides, 0))
            return builder.add(builder.add(builder.ptrtoint(array.data, i64), row_bytes),
                               column_bytes)

        def pointer(byte_address, element_type):
            return builder.inttoptr(byte_address, element_type.as_pointer())

        def constant(value):
            return ir.Constant(i64, value)

        a_column_bytes = builder.extract_value(a_array.strides, 1)
        a_row_bytes = builder.extract_value(a_array.strides, 0)
        depth = builder.extract_value(a_array.shape, 1)
        n_bytes = builder.mul(n_index, constant(4))
        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vector, [vector] * 3), "llvm.fma.v16f32")

        # The running sums: stack slots, which LLVM promotes to registers (no address escapes).
        with builder.goto_entry_block():
            sums = [builder.alloca(vector) for _ in range(BLOCK_ROWS * n_vectors)]
        for slot in sums:
            builder.store(ir.Constant(vector, None), slot)  # zeros

        with cgutils.for_range(builder, depth) as loop:
            k = loop.index
            b_row = address(b_array, k, n_bytes)
            b_k = [builder.load(pointer(builder.add(b_row, constant(4 * LANES * v)), vector),
                                align=4) for v in range(n_vectors)]
            a_k = address(a_array, m_index, builder.mul(k, a_column_bytes))
            for r in range(BLOCK_ROWS):
                element = builder.load(pointer(
                    builder.add(a_k, builder.mul(constant(r), a_row_bytes)), f32), align=4)
                broadcast = builder.shuffle_vector(
                    builder.insert_element(ir.Constant(vector, ir.Undefined), element,
                                           ir.Constant(i32, 0)),
                    ir.Constant(vector, ir.Undefined),
                    ir.Constant(ir.VectorType(i32, LANES), None))  # lane 0 to every lane
                for v in range(n_vectors):
                    slot = sums[r * n_vectors + v]
                    builder.store(builder.call(fma, [broadcast, b_k[v], builder.load(slot)]), slot)

        for r in range(BLOCK_ROWS):
            out_row = address(out_array, builder.add(m_index, constant(r)), n_bytes)
            for v in range(n_vectors):
                builder.store(builder.load(sums[r * n_vectors + v]),
                              pointer(builder.add(out_row, constant(4 * LANES * v)), vector),
                              align=4)
        return context.get_dummy_value()

    return types.void(a, b, out, m, n, vectors), codegen
