/* _mx_fastpath: NDArray's arithmetic operators (a + b, a * 2.0, ...) and its finaliser in C.
 *
 * The ctypes path of an op (NDArray.__add__ -> _ops.invoke -> mx_imperative_invoke) spends most
 * of a tiny op's time in Python: building ctypes arrays and byrefs, wrapping the result handle,
 * and NDArray.__del__ calling mx_ndarray_free through ctypes. This module does the same calls
 * from C: it reads the handles out of the NDArray objects, calls the C API through function
 * pointers that mx.ndarray passes in (taken from the very libmx that ctypes loaded, so there is
 * no second copy of the library), and builds the result NDArray directly.
 *
 * It is optional. mx.ndarray installs it only when it was built for this Python, sits beside
 * libmx.so, passes the layout checks in setup(), and MX_NO_FASTPATH is unset; otherwise the ctypes
 * path runs, with the same results. Anything this path does not handle itself (a numpy scalar,
 * a bool, a subclass of ctypes.c_void_p as a handle, ...) is passed to the Python method it
 * replaces, so behaviour and messages stay those of the ctypes path.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <stdint.h>
#include <string.h>

typedef int (*invoke_fn)(const char*, int32_t, void* const*, int32_t*, void***, int32_t, const char**,
                         const char**);
typedef int (*free_fn)(void*);
typedef int (*shape_fn)(void*, int32_t*, const int64_t**);

static struct {
  PyTypeObject* ndarray;  /* mx.ndarray.NDArray */
  PyTypeObject* void_p;   /* ctypes.c_void_p */
  Py_ssize_t off_handle, off_writable, off_shape;  /* NDArray's __slots__ */
  invoke_fn invoke;
  free_fn free;
  shape_fn shape;
  PyObject* raise_error; /* callable: raises the C API's last error as MXNetError */
  PyObject* fallback;    /* dict: Python method name -> the Python implementation */
  PyObject* empty_tuple;
} g;

/* ---- ctypes.c_void_p internals. A ctypes object keeps its value behind b_ptr, the first field
 * after the object header (CDataObject in CPython's Modules/_ctypes/ctypes.h, unchanged since
 * 2.5). setup() checks the layout on a live object before anything relies on it. */
typedef struct {
  PyObject_HEAD
  char* b_ptr;
} CDataHead;

/* The pointer a handle object holds; -1 for anything that is not exactly a c_void_p. */
static int handle_value(PyObject* h, void** out) {
  if (Py_TYPE(h) != g.void_p) return -1;
  memcpy(out, ((CDataHead*)h)->b_ptr, sizeof(void*));
  return 0;
}

static PyObject* new_handle(void* value) {
  PyObject* h = g.void_p->tp_new(g.void_p, g.empty_tuple, NULL);
  if (h) memcpy(((CDataHead*)h)->b_ptr, &value, sizeof(void*));
  return h;
}

#define SLOT(obj, off) (*(PyObject**)((char*)(obj) + (off)))

static void set_slot(PyObject* obj, Py_ssize_t off, PyObject* value) {
  PyObject* old = SLOT(obj, off);
  Py_XINCREF(value);
  SLOT(obj, off) = value;
  Py_XDECREF(old);
}

/* A new NDArray owning handle `h` (what NDArray(handle) makes), with its shape cache set. */
static PyObject* wrap(void* h, PyObject* shape) {
  PyObject* handle = new_handle(h);
  if (!handle) {
    g.free(h);
    return NULL;
  }
  PyObject* arr = g.ndarray->tp_alloc(g.ndarray, 0);
  if (!arr) {
    Py_DECREF(handle);  /* the C handle is then leaked: only on out-of-memory */
    return NULL;
  }
  SLOT(arr, g.off_handle) = handle;
  Py_INCREF(Py_True);
  SLOT(arr, g.off_writable) = Py_True;
  Py_INCREF(shape);
  SLOT(arr, g.off_shape) = shape;
  return arr;
}

/* ---- the operators */

typedef struct {
  const char* method;     /* the Python method replaced, e.g. "__add__" */
  const char* same;       /* op for two arrays of one shape */
  const char* broadcast;  /* op for two arrays of different shapes */
  const char* scalar;     /* op for array and Python number */
  int reverse;            /* __radd__ etc.: other is the left operand */
} BinaryOp;

static const BinaryOp kOps[] = {
    {"__add__", "elemwise_add", "broadcast_add", "_plus_scalar", 0},
    {"__radd__", "elemwise_add", "broadcast_add", "_plus_scalar", 1},
    {"__sub__", "elemwise_sub", "broadcast_sub", "_minus_scalar", 0},
    {"__rsub__", "elemwise_sub", "broadcast_sub", "_rminus_scalar", 1},
    {"__mul__", "elemwise_mul", "broadcast_mul", "_mul_scalar", 0},
    {"__rmul__", "elemwise_mul", "broadcast_mul", "_mul_scalar", 1},
    {"__truediv__", "elemwise_div", "broadcast_div", "_div_scalar", 0},
    {"__rtruediv__", "elemwise_div", "broadcast_div", "_rdiv_scalar", 1},
};
#define NUM_OPS (sizeof(kOps) / sizeof(kOps[0]))

static PyObject* call_fallback(const BinaryOp* op, PyObject* self, PyObject* other) {
  PyObject* fn = PyDict_GetItemString(g.fallback, op->method); /* borrowed */
  if (!fn) {
    PyErr_Format(PyExc_RuntimeError, "mx fast path: no Python %s to fall back to", op->method);
    return NULL;
  }
  PyObject* args[2] = {self, other};
  return PyObject_Vectorcall(fn, args, 2, NULL);
}

/* Whether two arrays have one shape, through the C API (no tuples built). -1: ask Python. */
static int same_shape(void* a, void* b) {
  int32_t na = 0, nb = 0;
  const int64_t *da = NULL, *db = NULL;
  if (g.shape(a, &na, &da) != 0 || g.shape(b, &nb, &db) != 0) return -1;
  return na == nb && (na == 0 || memcmp(da, db, (size_t)na * sizeof(int64_t)) == 0);
}

static PyObject* binary(const BinaryOp* op, PyObject* self, PyObject* other) {
  void* ins[2];
  const char* name;
  const char* key = "scalar";
  const char* val = NULL;
  char* val_buf = NULL;
  int32_t n_in, n_params = 0;
  PyObject* shape = Py_None; /* the result's shape, when known here */
  PyObject* sh = SLOT(self, g.off_handle); /* NULL: never initialised (NDArray.__new__ alone) */
  if (!sh || handle_value(sh, &ins[0]) != 0) return call_fallback(op, self, other);
  if (Py_TYPE(other) == g.ndarray) {
    PyObject* oh = SLOT(other, g.off_handle);
    if (!oh || handle_value(oh, &ins[1]) != 0) return call_fallback(op, self, other);
    if (op->reverse) {
      void* t = ins[0];
      ins[0] = ins[1];
      ins[1] = t;
    }
    const int same = same_shape(ins[0], ins[1]);
    if (same < 0) return call_fallback(op, self, other);
    name = same ? op->same : op->broadcast;
    if (same) shape = SLOT(self, g.off_shape);
    n_in = 2;
  } else if (PyFloat_CheckExact(other) || PyLong_CheckExact(other)) {
    /* float(other) in MXNet's attribute syntax: repr, as _ops.param_str writes it */
    const double v = PyFloat_CheckExact(other) ? PyFloat_AS_DOUBLE(other) : PyLong_AsDouble(other);
    if (v == -1.0 && PyErr_Occurred()) {
      PyErr_Clear(); /* an int past float's range: the Python path says so */
      return call_fallback(op, self, other);
    }
    val_buf = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (!val_buf) return NULL;
    val = val_buf;
    name = op->scalar;
    n_in = 1;
    n_params = 1;
    shape = SLOT(self, g.off_shape);
  } else {
    return call_fallback(op, self, other); /* NotImplemented, numpy scalars, bools, ... */
  }
  if (!shape) shape = Py_None;
  Py_INCREF(shape); /* held across the call: another thread may replace self's cached shape */
  int32_t n_out = 0;
  void** outs = NULL;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = g.invoke(name, n_in, ins, &n_out, &outs, n_params, n_params ? &key : NULL, n_params ? &val : NULL);
  Py_END_ALLOW_THREADS
  if (val_buf) PyMem_Free(val_buf);
  if (rc != 0) {
    Py_DECREF(shape);
    PyObject* r = PyObject_CallNoArgs(g.raise_error);
    if (r) { /* it did not raise: should not happen */
      Py_DECREF(r);
      PyErr_Format(PyExc_RuntimeError, "%s failed without an error message", name);
    }
    return NULL;
  }
  if (n_out != 1) { /* these ops have one output */
    Py_DECREF(shape);
    for (int32_t i = 0; i < n_out; ++i) g.free(outs[i]);
    PyErr_Format(PyExc_RuntimeError, "%s returned %d outputs, expected 1", name, (int)n_out);
    return NULL;
  }
  PyObject* result = wrap(outs[0], shape);
  Py_DECREF(shape);
  return result;
}

#define DEFINE_OP(i)                                                          \
  static PyObject* op_##i(PyObject* self, PyObject* other) { return binary(&kOps[i], self, other); }
DEFINE_OP(0)
DEFINE_OP(1)
DEFINE_OP(2)
DEFINE_OP(3)
DEFINE_OP(4)
DEFINE_OP(5)
DEFINE_OP(6)
DEFINE_OP(7)
static PyCFunction kOpFns[NUM_OPS] = {op_0, op_1, op_2, op_3, op_4, op_5, op_6, op_7};
static PyMethodDef kOpDefs[NUM_OPS];

/* NDArray.__del__: frees the C handle, as the Python finaliser does. */
static PyObject* nd_del(PyObject* self, PyObject* unused) {
  PyObject* h = SLOT(self, g.off_handle);
  if (!h || h == Py_None) Py_RETURN_NONE;
  void* value = NULL;
  if (handle_value(h, &value) != 0) { /* not a plain c_void_p: ask it for its value */
    PyObject* v = PyObject_GetAttrString(h, "value");
    if (!v) return NULL;
    value = v == Py_None ? NULL : PyLong_AsVoidPtr(v);
    Py_DECREF(v);
    if (PyErr_Occurred()) return NULL;
  }
  if (value) g.free(value);
  set_slot(self, g.off_handle, Py_None);
  Py_RETURN_NONE;
}
static PyMethodDef kDelDef = {"__del__", nd_del, METH_NOARGS, "Frees the array's C handle."};

/* ---- setup */

static Py_ssize_t slot_offset(PyTypeObject* type, const char* name) {
  PyObject* d = PyDict_GetItemString(type->tp_dict, name); /* borrowed */
  if (!d || Py_TYPE(d) != &PyMemberDescr_Type) return -1;
  PyMemberDef* m = ((PyMemberDescrObject*)d)->d_member;
  return m->type == T_OBJECT_EX ? m->offset : -1;
}

static void* address(PyObject* o) { return PyLong_AsVoidPtr(o); }

/* setup(NDArray, c_void_p, invoke, free, get_shape, raise_error, fallbacks) -> {name: method}
 * The addresses are of mx_imperative_invoke, mx_ndarray_free and mx_ndarray_get_shape. Returns
 * None when the layout checks fail (the caller then keeps the ctypes path). */
static PyObject* setup(PyObject* module, PyObject* args) {
  PyObject *nd, *vp, *inv, *fr, *sh, *raise_error, *fallback;
  if (!PyArg_ParseTuple(args, "O!O!OOOOO!", &PyType_Type, &nd, &PyType_Type, &vp, &inv, &fr, &sh, &raise_error,
                        &PyDict_Type, &fallback))
    return NULL;
  PyTypeObject* ndt = (PyTypeObject*)nd;
  PyTypeObject* vpt = (PyTypeObject*)vp;
  const Py_ssize_t oh = slot_offset(ndt, "handle"), ow = slot_offset(ndt, "writable"), os = slot_offset(ndt, "_shape");
  if (oh < 0 || ow < 0 || os < 0) Py_RETURN_NONE;
  /* c_void_p's layout: a value set through ctypes must read back through b_ptr, and one written
   * through b_ptr must read back through ctypes. */
  const uintptr_t probe = (uintptr_t)0x5a5a12345678a5a5ull;
  PyObject* pv = PyLong_FromVoidPtr((void*)probe);
  PyObject* obj = pv ? PyObject_CallOneArg(vp, pv) : NULL;
  Py_XDECREF(pv);
  if (!obj) return NULL;
  uintptr_t seen = 0;
  int ok = Py_TYPE(obj) == vpt && vpt->tp_basicsize >= (Py_ssize_t)sizeof(CDataHead) && ((CDataHead*)obj)->b_ptr;
  if (ok) memcpy(&seen, ((CDataHead*)obj)->b_ptr, sizeof(seen));
  Py_DECREF(obj);
  if (!ok || seen != probe) Py_RETURN_NONE;
  if (!g.empty_tuple && !(g.empty_tuple = PyTuple_New(0))) return NULL;
  g.void_p = vpt;
  obj = new_handle((void*)(probe ^ 0xff));
  PyObject* back = obj ? PyObject_GetAttrString(obj, "value") : NULL;
  Py_XDECREF(obj);
  if (!back) return NULL;
  ok = (uintptr_t)PyLong_AsVoidPtr(back) == (probe ^ 0xff);
  Py_DECREF(back);
  if (!ok) Py_RETURN_NONE;

  Py_INCREF(nd);
  Py_XDECREF((PyObject*)g.ndarray);
  g.ndarray = ndt;
  g.off_handle = oh;
  g.off_writable = ow;
  g.off_shape = os;
  g.invoke = (invoke_fn)address(inv);
  g.free = (free_fn)address(fr);
  g.shape = (shape_fn)address(sh);
  if (PyErr_Occurred()) return NULL;
  Py_INCREF(raise_error);
  Py_XSETREF(g.raise_error, raise_error);
  Py_INCREF(fallback);
  Py_XSETREF(g.fallback, fallback);

  PyObject* methods = PyDict_New();
  if (!methods) return NULL;
  for (size_t i = 0; i < NUM_OPS + 1; ++i) {
    PyMethodDef* def = &kDelDef;
    if (i < NUM_OPS) {
      def = &kOpDefs[i];
      def->ml_name = kOps[i].method;
      def->ml_meth = kOpFns[i];
      def->ml_flags = METH_O;
      def->ml_doc = NULL;
    }
    /* A method descriptor, so that the class attribute binds like a Python method. */
    PyObject* descr = PyDescr_NewMethod(ndt, def);
    if (!descr || PyDict_SetItemString(methods, def->ml_name, descr) != 0) {
      Py_XDECREF(descr);
      Py_DECREF(methods);
      return NULL;
    }
    Py_DECREF(descr);
  }
  return methods;
}

static PyMethodDef kModuleMethods[] = {
    {"setup", setup, METH_VARARGS, "setup(NDArray, c_void_p, invoke, free, get_shape, raise_error, fallbacks)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef kModule = {PyModuleDef_HEAD_INIT, "_mx_fastpath",
                                     "NDArray's arithmetic operators and finaliser in C (see mx.ndarray).", -1,
                                     kModuleMethods};

PyMODINIT_FUNC PyInit__mx_fastpath(void) { return PyModule_Create(&kModule); }
