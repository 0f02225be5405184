"""The cluster's default storage: encrypted gp3 volumes from the EBS CSI driver."""

from __future__ import annotations

from typing import Any

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"
STORAGE_CLASS_NAME = "gp3-encrypted"
# EKS creates an in-tree `gp2` class, marked default on clusters created before Kubernetes 1.30; two
# defaults make the choice depend on creation times, so the component marks it non-default there.
LEGACY_DEFAULT_CLASS = "gp2"
_LAST_VERSION_WITH_LEGACY_DEFAULT = (1, 29)


def storage_class_manifest(name: str = STORAGE_CLASS_NAME) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": EBS_CSI_PROVISIONER,
        # Encrypted with the account's EBS key: no volume is ever written in clear.
        "parameters": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
        # Delete, Kubernetes' default: a StatefulSet's claims outlive its pods and a chart uninstall, so a
        # volume goes only when its claim is deleted on purpose; data is protected by backups, not by
        # leaving paid-for orphan volumes behind.
        "reclaimPolicy": "Delete",
        # Create the volume in the zone the pod is scheduled to: EBS volumes are zonal.
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def has_legacy_default_class(kubernetes_version: str) -> bool:
    major, minor = (int(part) for part in kubernetes_version.split("."))
    return (major, minor) <= _LAST_VERSION_WITH_LEGACY_DEFAULT
