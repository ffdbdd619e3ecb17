"""Releases (the immutable bundle an environment serves) and their promotion between environments."""

from amlops.release.bundle import DeploymentRelease, EndpointRelease, ModelPin, Release, build_release

__all__ = ["DeploymentRelease", "EndpointRelease", "ModelPin", "Release", "build_release"]
