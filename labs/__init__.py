"""The teaching labs, one directory per lab (``01-log-on-disk``, ...).

Each holds a README.md, a lab.py (what ``minikafka lab`` runs), starter/ and
solution/. Installed, this directory is the ``minikafka_labs`` package (data
only), which is how ``minikafka lab`` finds the labs outside a checkout.
"""
