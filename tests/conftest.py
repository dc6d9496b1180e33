import pytest
import torch

_DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("cuda", id="cuda", marks=pytest.mark.cuda),
]


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU; none is available here")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=_DEVICES)
def device(request):
    """Each test that takes it runs on the CPU and (marked ``cuda``) on a CUDA GPU."""
    return torch.device(request.param)


@pytest.fixture(params=[torch.float32, torch.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture
def two_threads(monkeypatch):
    """torch on two intra-op threads for the test (the thread rules need more than one),
    and both taken as free: the thread rules under test do not depend on what else the
    machine runs meanwhile (`_device.load_cap`)."""
    import gpusmote._device as device

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    monkeypatch.setattr(device, "free_cores", lambda: None)
    monkeypatch.setattr(device, "_other_runnable", lambda: None)  # and between tiles
    yield
    torch.set_num_threads(before)
