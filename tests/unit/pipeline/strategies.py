"""Hypothesis strategies shared by the pipeline's tests."""

from hypothesis import strategies as st

# Any JSON document (NaN and infinities included: Python's json writes them).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
