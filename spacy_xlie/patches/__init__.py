"""What ``import spacy_xlie`` changes in spaCy and srsly, process-wide.

Both are speed fixes for moving docs between processes, installed on import so that
worker processes (forked, spawned or Dask) get them too:

* :mod:`.multiprocessing_pipe` replaces ``Language._multiprocessing_pipe`` for pipelines
  with a spacy-xlie component (``XLIE_FAST_PIPE=0`` turns it off; on a spaCy whose private
  names it does not recognise it stays out, with a warning);
* :mod:`.msgpack_codecs` caches srsly's msgpack codec look-ups.

They live here, not under ``util``, because they patch other packages: this is the one
place to look for what the plugin changes outside itself.
"""
