"""A simulator of the CloudStack management server's HTTP API, for the lab.

It reproduces what the collection depends on (signatures, response shapes, error codes,
async jobs, volume migration on VMware through a real vcsim) and the bug of
apache/cloudstack#9881. See docs/cloudstack-simulator.md.
"""
