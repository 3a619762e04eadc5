"""A benchmark peer, not product code: the same payment loop written the way the tutorials
write it (Flask + the ``wechatpayv3`` SDK + stdlib ``sqlite3``, served by gunicorn with
threads), so ``bench.prepay`` can put mppay's figures next to a conventional backend's.

``app`` is the peer itself (it imports Flask and the SDK: the ``bench`` extra);
``process`` starts it under gunicorn against a bench ``Stack``'s emulator and imports
neither.
"""
