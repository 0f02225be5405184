"""Reads from a cluster's Kubernetes API that the Pulumi Kubernetes provider cannot read safely.

`ca_certificate.ClusterCaCertificate` reads the public CA certificate out of a cert-manager Secret
without copying the Secret's private key into Pulumi state (as `k8s.core.v1.Secret.get` would).
"""
