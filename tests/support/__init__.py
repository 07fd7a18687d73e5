"""Helpers shared by test modules of several layers (no test module imports another).

``paths``: where the repository, samples, signatures and the real corpus are; ``evtxspecs``: three small
EVTX event specs (Schannel, Lync, CAPI2) for reader tests; ``smallkb``: a small knowledge base written to a
folder, with Event builders; ``busylog``: a busy multi-computer Schannel log for the parallel and shape
equivalence tests; ``tuipilot``: waiting for states on the real Textual pilot, and pasting a text.
"""
