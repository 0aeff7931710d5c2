// The only importer of CLibPQ: a connection class owning the PGconn handle.
import CLibPQ
