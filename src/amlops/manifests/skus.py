"""The Azure VM sizes amlops knows: for validation (is this a real size, is it a GPU) and for cost.

Managed online deployments accept a subset of VM sizes (Azure ML's "managed online endpoints SKU
list"); AmlCompute clusters accept any size the region offers. Sizes outside this table are refused
so that a typo fails in the pull request rather than at deployment time.
"""

from __future__ import annotations

from dataclasses import dataclass

from amlops.manifests.errors import did_you_mean


@dataclass(frozen=True)
class VmSize:
    name: str
    vcpus: int
    memory_gib: float
    gpus: int = 0
    gpu: str = ""
    online: bool = True  # offered for managed online deployments

    @property
    def is_gpu(self) -> bool:
        return self.gpus > 0


_SIZES = [
    VmSize("Standard_DS1_v2", 1, 3.5, online=True),
    VmSize("Standard_DS2_v2", 2, 7),
    VmSize("Standard_DS3_v2", 4, 14),
    VmSize("Standard_DS4_v2", 8, 28),
    VmSize("Standard_DS5_v2", 16, 56),
    VmSize("Standard_D2as_v4", 2, 8),
    VmSize("Standard_D4as_v4", 4, 16),
    VmSize("Standard_D8as_v4", 8, 32),
    VmSize("Standard_D16as_v4", 16, 64),
    VmSize("Standard_D32as_v4", 32, 128),
    VmSize("Standard_D2s_v3", 2, 8, online=False),
    VmSize("Standard_D4s_v3", 4, 16, online=False),
    VmSize("Standard_D8s_v3", 8, 32, online=False),
    VmSize("Standard_E2s_v3", 2, 16),
    VmSize("Standard_E4s_v3", 4, 32),
    VmSize("Standard_E8s_v3", 8, 64),
    VmSize("Standard_E16s_v3", 16, 128),
    VmSize("Standard_E32s_v3", 32, 256),
    VmSize("Standard_E64s_v3", 64, 432),
    VmSize("Standard_F2s_v2", 2, 4),
    VmSize("Standard_F4s_v2", 4, 8),
    VmSize("Standard_F8s_v2", 8, 16),
    VmSize("Standard_F16s_v2", 16, 32),
    VmSize("Standard_F32s_v2", 32, 64),
    VmSize("Standard_F48s_v2", 48, 96),
    VmSize("Standard_F64s_v2", 64, 128),
    VmSize("Standard_F72s_v2", 72, 144),
    VmSize("Standard_NC4as_T4_v3", 4, 28, 1, "T4"),
    VmSize("Standard_NC8as_T4_v3", 8, 56, 1, "T4"),
    VmSize("Standard_NC16as_T4_v3", 16, 110, 1, "T4"),
    VmSize("Standard_NC64as_T4_v3", 64, 440, 4, "T4"),
    VmSize("Standard_NC6s_v3", 6, 112, 1, "V100"),
    VmSize("Standard_NC12s_v3", 12, 224, 2, "V100"),
    VmSize("Standard_NC24s_v3", 24, 448, 4, "V100"),
    VmSize("Standard_NC24ads_A100_v4", 24, 220, 1, "A100"),
    VmSize("Standard_NC48ads_A100_v4", 48, 440, 2, "A100"),
    VmSize("Standard_NC96ads_A100_v4", 96, 880, 4, "A100"),
    VmSize("Standard_ND96asr_v4", 96, 900, 8, "A100"),
    VmSize("Standard_ND96amsr_A100_v4", 96, 1924, 8, "A100"),
    VmSize("Standard_ND40rs_v2", 40, 672, 8, "V100"),
    VmSize("Standard_NV6ads_A10_v5", 6, 55, 1, "A10", online=False),
    VmSize("Standard_NV36ads_A10_v5", 36, 440, 1, "A10", online=False),
]

VM_SIZES: dict[str, VmSize] = {size.name.lower(): size for size in _SIZES}


def vm_size(name: str) -> VmSize | None:
    """Look a size up the way Azure does: case-insensitively."""
    return VM_SIZES.get(name.lower())


def suggest(name: str) -> str:
    """A hint naming the closest known sizes, for error messages."""
    return did_you_mean(name.lower(), VM_SIZES, {key: size.name for key, size in VM_SIZES.items()})
