"""Parameter descriptions shared by the samplers' docstrings, written once (as
imbalanced-learn's ``Substitution``): a docstring line ``    {name}`` becomes the
fragment ``name``, so ``help()`` shows every parameter in every class."""

from __future__ import annotations

__all__ = ["fill_doc", "FRAGMENTS"]

FRAGMENTS = {
    "sampling_strategy_over": """sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to over-sample and to how many rows, as in imbalanced-learn: a float
        (binary only) is the minority/majority ratio after resampling; "minority", "not
        minority", "not majority", "all", "auto" (= "not majority"); a dict
        ``{class: rows after resampling}``; or a callable ``y -> dict``.""",
    "sampling_strategy_under": """sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to under-sample and to how many rows, as in imbalanced-learn: a
        float (binary only) is the minority/majority ratio after resampling; "majority",
        "not minority", "not majority", "all", "auto" (= "not minority"); a dict
        ``{class: rows kept}``; or a callable ``y -> dict``.""",
    "sampling_strategy_clean": """sampling_strategy : str, list or callable, default="auto"
        Which classes to clean, as in imbalanced-learn: "majority", "not minority", "not
        majority", "all", "auto" (= "not minority"); a list of classes; or a callable
        ``y -> dict``.""",
    "random_state": """random_state : None, int, numpy.random.RandomState or torch.Generator
        None, an int or a RandomState reproduce imbalanced-learn's draws (an int gives
        every class a fresh ``RandomState(seed)``, a RandomState is shared by the classes;
        None is a fresh OS-seeded stream, never numpy's global one). A ``torch.Generator``
        draws on its own device instead: fastest, same distribution, not the same rows.""",
    "random_state_numpy": """random_state : None, int or numpy.random.RandomState
        As in imbalanced-learn (None: a fresh OS-seeded stream, never numpy's global
        one). A ``torch.Generator`` is refused: the rows come from imbalanced-learn's
        draws or scikit-learn's estimators.""",
    "k_neighbors": """k_neighbors : int or object with ``kneighbors``, default=5
        Neighbours per row among the rows of its class. An object (gpusmote's or
        scikit-learn's ``NearestNeighbors``) is cloned, fitted on each class and asked for
        its neighbours; its first column (the row itself) is dropped, as imbalanced-learn
        does.""",
    "n_neighbors_clean": """n_neighbors : int or object with ``kneighbors``, default=3
        Neighbours of each row among all rows, itself excluded. An object (gpusmote's or
        scikit-learn's ``NearestNeighbors``) is cloned and fitted on all rows; its first
        column (the row itself) is dropped.""",
    "kind_sel": """kind_sel : {"all", "mode"}, default="all"
        "all": a row is removed when any of its neighbours is of another class; "mode":
        when their most frequent class (ties to the smallest label) is another.""",
    "device": """device : "auto", "cpu", "cuda" or torch.device, keyword-only
        Where to compute. "auto": the device of a tensor ``X``, else CUDA when available,
        else the CPU. The output goes back where the input was.""",
    "backend": """backend : str or faiss index spec, default="auto", keyword-only
        The neighbour engine: "auto", "torch", "kdtree", "faiss", "faiss-flat",
        "faiss-ivf", "faiss-hnsw" or a ``FaissFlat`` / ``FaissIVF`` / ``FaissHNSW`` object
        (see `gpusmote.neighbors.kneighbors`). All but the IVF and HNSW indexes are
        exact.""",
    "max_memory": """max_memory : int or str, optional, keyword-only
        Working memory of the neighbour searches and the row generation, in bytes or as
        a string such as ``"512MiB"``. Default: 256 MiB on the CPU, half the free memory
        on CUDA. Outside it: the output, and one copy of input rows in their own dtype
        (a class's rows; a DataFrame's numbers); integer and bool rows are converted to
        float64 a tile or a chunk at a time, never all at once.""",
    "n_jobs": """n_jobs : int or None, default=None
        CPU threads for the call: torch's intra-op threads (set for the call and
        restored after it; while calls of several threads hold different caps, the
        smallest holds), the KD-tree's query workers, and ``n_jobs`` of the
        scikit-learn objects the sampler builds or is given. None: no limit (torch's
        own setting); -1: every core. It does not limit a GPU.""",
    "n_neighbors_knn_rule": """n_neighbors : None, int or a KNeighborsClassifier, default=None
        The k of the k-NN rule (None: 1); a classifier gives its ``n_neighbors``.""",
    "n_seeds_S": """n_seeds_S : int, default=1
        Random rows of the class that start the rule, besides the minority rows.""",
    "smote_for_combine": """smote : None or an over-sampler with ``fit_resample``, default=None
        Cloned and run first; None: ``SMOTE(sampling_strategy, random_state, device,
        backend, max_memory)``.""",
    "sampling_strategy_combine": """sampling_strategy : float, str, dict or callable, default="auto"
        For the default SMOTE (see `gpusmote.SMOTE`); kept as given in
        ``sampling_strategy_``, as imbalanced-learn does.""",
}


def fill_doc(obj):
    """Decorator: replace each line ``{name}`` of ``obj.__doc__`` by ``FRAGMENTS[name]``,
    indented as the line was."""
    doc = obj.__doc__ or ""
    lines = []
    for line in doc.split("\n"):
        name = line.strip()
        if name.startswith("{") and name.endswith("}") and name[1:-1] in FRAGMENTS:
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(indent + FRAGMENTS[name[1:-1]])
        else:
            lines.append(line)
    obj.__doc__ = "\n".join(lines)
    return obj
