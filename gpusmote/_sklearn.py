"""scikit-learn's estimator protocol beyond parameters, where scikit-learn is installed:
its tags (``sklearn.utils.get_tags``) and the notebook's HTML view. gpusmote does not
need scikit-learn; without it these are absent and everything else works."""

from __future__ import annotations

import functools

__all__ = ["sampler_tags", "html_repr"]


@functools.lru_cache(maxsize=1)
def _tag_classes():
    from dataclasses import dataclass

    from sklearn.utils import Tags

    @dataclass(slots=True)
    class SamplerTags:
        """imbalanced-learn's sampler tags: whether ``sample_indices_`` is set."""

        sample_indices: bool = False

    @dataclass(slots=True)
    class SamplerEstimatorTags(Tags):
        """scikit-learn's tags with imbalanced-learn's ``sampler_tags`` (what
        ``imblearn.utils._tags`` checks to tell a sampler)."""

        sampler_tags: SamplerTags | None = None

    return SamplerTags, SamplerEstimatorTags


def sampler_tags(sampler, *, sample_indices: bool):
    """The tags imbalanced-learn's samplers have: estimator type "sampler", a required
    target, 2-D arrays and sparse matrices in."""
    from sklearn.utils import InputTags, TargetTags

    SamplerTags, SamplerEstimatorTags = _tag_classes()
    return SamplerEstimatorTags(
        estimator_type="sampler",
        target_tags=TargetTags(required=True),
        transformer_tags=None,
        regressor_tags=None,
        classifier_tags=None,
        input_tags=InputTags(two_d_array=True, sparse=True),
        sampler_tags=SamplerTags(sample_indices=sample_indices),
    )


def html_repr(estimator) -> str | None:
    """scikit-learn's HTML view of ``estimator`` (None without scikit-learn: the
    notebook then shows the text repr)."""
    try:
        from sklearn.utils import estimator_html_repr
    except ImportError:
        return None
    return estimator_html_repr(estimator)
