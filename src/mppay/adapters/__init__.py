"""Adapters: the use cases' ports implemented over ``mppay.wechatpay`` (and catalog files)."""
