// gc_deferred.cc - the collector's view of deferred reference counts (gc.h).
//
// Kept apart from gc.cc: deferred reference counting of values is its own
// mechanism, and this is all the collector adds to it (deferred.h has
// disable_deferred_refcounting).
// The deferred objects of the model are type objects and function values
// (deferred.h: ob_ref_shared biased by _Py_REF_DEFERRED). Neither is in the
// collector's heap (the instances of the program's types), so a collection
// never meets one yet; tear-down frees the functions (World's
// CollectDeferredForTeardown).

#include "core/gc.h"
#include "core/object.h"
#include "core/type.h"

namespace ftf::core {

// update_refs (3.14): `if (_PyObject_HasDeferredRefcount(op)) refcount -= _Py_REF_DEFERRED;`
intptr_t GcDeferredBias(const Object* o) { return (o->ob_gc_bits.Peek() & kGcBitsDeferred) != 0 ? kRefDeferred : 0; }

}  // namespace ftf::core
