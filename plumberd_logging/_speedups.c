/* plumberd_logging._speedups: the per-event steps of the writer's hot path, in C.
 *
 * Optional: every function here has a pure-Python twin (the reference) in the module that
 * uses it, and the package works without this extension (PLUMBERD_PURE_PYTHON=1 forces
 * that). tests/core/test_speedups.py checks each function byte for byte against its twin.
 *
 *   uuid_text(value)                         -> str(value), for uuid.UUID without Python code
 *   format_stamp(timestamp, cached)          -> _clock.format_timestamp's text, or None
 *   metadata_json(event_id, created, cached, host, correlation, causation)
 *                                            -> metadata.standard_metadata_json's bytes, or None
 *   new_uuids(raw)                           -> a version-4 uuid.UUID per 16 bytes of raw
 *   log_json(payload, event_id, service, host, cached)
 *                                            -> _capture.LogEventSpec.build's body as JSON, or None
 *   structlog_json(payload, event_id, service, host, cached, pid, skip)
 *                                            -> _capture.StructlogEventSpec.build's, or None
 *   object_event(obj, keys, fields, id_text, id, type, created, cached, host, context, encoded)
 *                                            -> codec.Codec.encode's EncodedEvent, its body, or None
 *   standard_json(id_text, created, cached, host, context)
 *                                            -> metadata.standard_metadata_json's bytes, or None
 *   float_json(value)                        -> a float's text in object_json (repr()), or None
 *   untrack(receipt), track(receipt)          -> the cycle collector stops / resumes walking it
 *   proposed_messages(events, maps, make, head, tail)
 *                                            -> head + the v1 ProposedMessages of events + tail
 *   append_records(events, schemas, schema, properties, head, tail)
 *                                            -> head + the v2 AppendRecords of events + tail
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

static PyObject *UUID_TYPE;   /* uuid.UUID */
static PyObject *UNKNOWN;     /* uuid.SafeUUID.unknown */
static PyObject *INT_NAME;    /* "int" */
static PyObject *IS_SAFE_NAME; /* "is_safe" */
static PyObject *EMPTY;       /* () */
static PyObject *EMPTY_STR;   /* "" */
static PyObject *SIXTY_FOUR;  /* 64 */
static PyObject *DICT_NAME;   /* "__dict__" */
static PyObject *CORRELATION_NAME; /* "correlation_id" */
static PyObject *CAUSATION_NAME;   /* "causation_id" */
static PyObject *USER_NAME;        /* "user_id" */

static const char HEX[] = "0123456789abcdef";

/* Whether a METH_FASTCALL function got another number of arguments (TypeError set). */
static int
wrong_count(const char *signature, Py_ssize_t nargs, Py_ssize_t expected)
{
    if (nargs == expected) {
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "%s takes %zd arguments, got %zd", signature, expected, nargs);
    return 1;
}

/* -- uuid_text ------------------------------------------------------------------------------ */

/* The 36 characters of a UUID's canonical text into out; 0, or -1 with an exception set. */
static int
write_uuid(PyObject *value, char *out)
{
    PyObject *number = PyObject_GetAttr(value, INT_NAME);
    if (number == NULL) {
        return -1;
    }
    if (!PyLong_Check(number)) {
        Py_DECREF(number);
        PyErr_SetString(PyExc_TypeError, "UUID.int is not an int");
        return -1;
    }
    unsigned long long lo = PyLong_AsUnsignedLongLongMask(number);
    if (lo == (unsigned long long)-1 && PyErr_Occurred()) {
        Py_DECREF(number);
        return -1;
    }
    PyObject *high = PyNumber_Rshift(number, SIXTY_FOUR);
    Py_DECREF(number);
    if (high == NULL) {
        return -1;
    }
    unsigned long long hi = PyLong_AsUnsignedLongLongMask(high);
    Py_DECREF(high);
    if (hi == (unsigned long long)-1 && PyErr_Occurred()) {
        return -1;
    }
    char hex[32];
    for (int i = 15; i >= 0; i--) {
        hex[i] = HEX[hi & 0xF];
        hi >>= 4;
        hex[16 + i] = HEX[lo & 0xF];
        lo >>= 4;
    }
    /* 8-4-4-4-12 */
    memcpy(out, hex, 8);
    out[8] = '-';
    memcpy(out + 9, hex + 8, 4);
    out[13] = '-';
    memcpy(out + 14, hex + 12, 4);
    out[18] = '-';
    memcpy(out + 19, hex + 16, 4);
    out[23] = '-';
    memcpy(out + 24, hex + 20, 12);
    return 0;
}

static PyObject *
uuid_text(PyObject *module, PyObject *value)
{
    if (Py_TYPE(value) != (PyTypeObject *)UUID_TYPE) {
        return PyObject_Str(value);  /* a subclass keeps its own __str__ */
    }
    char text[36];
    if (write_uuid(value, text) < 0) {
        return NULL;
    }
    return PyUnicode_FromStringAndSize(text, 36);
}

/* -- new_uuids ---------------------------------------------------------------------------- */

static PyObject *
new_uuids(PyObject *module, PyObject *raw)
{
    if (!PyBytes_Check(raw) || PyBytes_GET_SIZE(raw) % 16) {
        PyErr_SetString(PyExc_TypeError, "new_uuids: expected bytes, a multiple of 16 long");
        return NULL;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(raw) / 16;
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)UUID_TYPE;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char bytes[16];
        memcpy(bytes, PyBytes_AS_STRING(raw) + 16 * i, 16);
        bytes[6] = (unsigned char)((bytes[6] & 0x0F) | 0x40);  /* version 4 */
        bytes[8] = (unsigned char)((bytes[8] & 0x3F) | 0x80);  /* RFC 4122 variant */
#if PY_VERSION_HEX >= 0x030D0000
        PyObject *number = PyLong_FromUnsignedNativeBytes(
            bytes, 16, Py_ASNATIVEBYTES_BIG_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER);
#else
        PyObject *number = _PyLong_FromByteArray(bytes, 16, 0, 0);
#endif
        if (number == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        /* UUID.__new__(UUID) and its two slots set as object.__setattr__ does (UUID's own
           __setattr__ refuses: UUIDs are immutable) */
        PyObject *value = type->tp_new(type, EMPTY, NULL);
        if (value == NULL || PyObject_GenericSetAttr(value, INT_NAME, number) < 0
            || PyObject_GenericSetAttr(value, IS_SAFE_NAME, UNKNOWN) < 0) {
            Py_DECREF(number);
            Py_XDECREF(value);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(number);
        /* Not tracked by the cycle collector: a UUID holds an int and an enum member, it can
           be in no reference cycle. Queued ids (and the EncodedEvent tuples holding them, which
           the collector then untracks itself) are no longer walked by every collection. */
        if (PyObject_GC_IsTracked(value)) {
            PyObject_GC_UnTrack(value);
        }
        PyList_SET_ITEM(out, i, value);
    }
    return out;
}

/* -- format_stamp --------------------------------------------------------------------------- */

/* Python's round() of a float: to nearest, ties to even. */
static double
round_half_even(double x)
{
    double rounded = round(x);
    if (fabs(x - rounded) == 0.5) {
        rounded = 2.0 * round(x / 2.0);
    }
    return rounded;
}

/* The text of `stamp` within the cached second (second, head, tail) into buffer (at least 96
 * bytes): its length, 0 when Python must format it (another second, not a float...), -1 on
 * an error. */
static Py_ssize_t
write_stamp(PyObject *stamp, PyObject *cached, char *buffer)
{
    if (!PyFloat_CheckExact(stamp) || !PyTuple_CheckExact(cached) || PyTuple_GET_SIZE(cached) != 3) {
        return 0;
    }
    double t = PyFloat_AS_DOUBLE(stamp);
    if (!isfinite(t) || fabs(t) > 1e15) {
        return 0;
    }
    double whole = floor(t);
    long long second = (long long)whole;
    long micros = (long)round_half_even((t - whole) * 1e6);
    if (micros >= 1000000) {
        second += 1;
        micros -= 1000000;
    }
    PyObject *cached_second = PyTuple_GET_ITEM(cached, 0);
    if (!PyLong_CheckExact(cached_second)) {
        return 0;
    }
    int overflow = 0;
    long long known = PyLong_AsLongLongAndOverflow(cached_second, &overflow);
    if (known == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow || known != second) {
        return 0;
    }
    PyObject *head = PyTuple_GET_ITEM(cached, 1), *tail = PyTuple_GET_ITEM(cached, 2);
    if (!PyUnicode_CheckExact(head) || !PyUnicode_CheckExact(tail) || !PyUnicode_IS_ASCII(head)
        || !PyUnicode_IS_ASCII(tail)) {
        return 0;
    }
    Py_ssize_t head_len = PyUnicode_GET_LENGTH(head), tail_len = PyUnicode_GET_LENGTH(tail);
    if (head_len + tail_len + 7 > 96) {
        return 0;
    }
    char *p = buffer;
    memcpy(p, PyUnicode_1BYTE_DATA(head), (size_t)head_len);
    p += head_len;
    if (micros > 0) {
        char digits[6];
        long rest = micros;
        for (int i = 5; i >= 0; i--) {
            digits[i] = (char)('0' + rest % 10);
            rest /= 10;
        }
        int n = 6;
        while (digits[n - 1] == '0') {
            n--;  /* trailing zeros trimmed, as C# writes them */
        }
        *p++ = '.';
        memcpy(p, digits, (size_t)n);
        p += n;
    }
    memcpy(p, PyUnicode_1BYTE_DATA(tail), (size_t)tail_len);
    p += tail_len;
    return p - buffer;
}

static PyObject *
format_stamp(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (wrong_count("format_stamp(timestamp, cached)", nargs, 2)) {
        return NULL;
    }
    char buffer[96];
    Py_ssize_t n = write_stamp(args[0], args[1], buffer);
    if (n < 0) {
        return NULL;
    }
    if (n == 0) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromStringAndSize(buffer, n);
}

/* -- metadata_json -------------------------------------------------------------------------- */

static int
append(char **p, char *end, const char *text, Py_ssize_t n)
{
    if (n > end - *p) {
        return -1;
    }
    memcpy(*p, text, (size_t)n);
    *p += n;
    return 0;
}

static int
append_str(char **p, char *end, PyObject *text)
{
    Py_ssize_t n;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &n);
    if (utf8 == NULL) {
        return -2;
    }
    return append(p, end, utf8, n);
}

#define APPEND_LITERAL(p, end, literal) append(p, end, literal, (Py_ssize_t)sizeof(literal) - 1)

static PyObject *
metadata_json(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (wrong_count("metadata_json(event_id, created, cached, host, correlation, causation)",
                    nargs, 6)) {
        return NULL;
    }
    PyObject *event_id = args[0], *host = args[3], *correlation = args[4], *causation = args[5];
    if (correlation == Py_None) {
        correlation = causation = event_id;  /* a root event: both are its own id */
    }
    if (!PyUnicode_Check(event_id) || !PyUnicode_Check(host) || !PyUnicode_Check(correlation)
        || !PyUnicode_Check(causation)) {
        PyErr_SetString(PyExc_TypeError, "metadata_json: the ids and host must be str");
        return NULL;
    }
    char stamp[96];
    Py_ssize_t stamp_len = write_stamp(args[1], args[2], stamp);
    if (stamp_len < 0) {
        return NULL;
    }
    if (stamp_len == 0) {
        Py_RETURN_NONE;
    }
    char buffer[1024];
    char *p = buffer, *end = buffer + sizeof(buffer);
    int failed = APPEND_LITERAL(&p, end, "{\"Created\":\"") || append(&p, end, stamp, stamp_len)
                 || APPEND_LITERAL(&p, end, "\"");
    int status = failed ? -1 : append_str(&p, end, host);
    if (status == 0) {
        status = APPEND_LITERAL(&p, end, ",\"$correlationId\":\"");
    }
    if (status == 0) {
        status = append_str(&p, end, correlation);
    }
    if (status == 0) {
        status = APPEND_LITERAL(&p, end, "\",\"$causationId\":\"");
    }
    if (status == 0) {
        status = append_str(&p, end, causation);
    }
    if (status == 0) {
        status = APPEND_LITERAL(&p, end, "\"}");
    }
    if (status == -2) {
        return NULL;  /* a str that is not UTF-8 (a lone surrogate) */
    }
    if (status == -1) {
        Py_RETURN_NONE;  /* longer than the buffer (a very long host name): Python writes it */
    }
    return PyBytes_FromStringAndSize(buffer, p - buffer);
}

/* -- proposed_messages ---------------------------------------------------------------------- */

static Py_ssize_t
varint_size(Py_ssize_t n)
{
    Py_ssize_t size = 1;
    size_t v = (size_t)n;
    while (v > 0x7F) {
        v >>= 7;
        size++;
    }
    return size;
}

static char *
write_varint(char *p, Py_ssize_t n)
{
    size_t v = (size_t)n;
    while (v > 0x7F) {
        *p++ = (char)((v & 0x7F) | 0x80);
        v >>= 7;
    }
    *p++ = (char)v;
    return p;
}

/* The length of one ProposedMessage (without its own field head). */
static Py_ssize_t
message_size(Py_ssize_t type_map, Py_ssize_t meta, Py_ssize_t data)
{
    Py_ssize_t size = 40 + type_map;
    if (meta) {
        size += 1 + varint_size(meta) + meta;
    }
    if (data) {
        size += 1 + varint_size(data) + data;
    }
    return size;
}

/* A length-delimited field `tag` holding the bytes `value`, or nothing when it is empty. */
static char *
write_optional_field(char *p, char tag, PyObject *value)
{
    Py_ssize_t n = PyBytes_GET_SIZE(value);
    if (n) {
        *p++ = tag;
        p = write_varint(p, n);
        memcpy(p, PyBytes_AS_STRING(value), (size_t)n);
        p += n;
    }
    return p;
}

static char *
write_bytes(char *p, PyObject *value)
{
    memcpy(p, PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value));
    return p + PyBytes_GET_SIZE(value);
}

/* Drop the references of refs[0..n) (NULLs skipped) and free the array. */
static void
release_refs(PyObject **refs, Py_ssize_t n)
{
    if (refs != NULL) {
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_XDECREF(refs[i]);
        }
        PyMem_Free(refs);
    }
}

/* The text of an id that is a UUID subclass: its own str(), which must be a UUID's 36
 * characters (the message's length is fixed); 0, or -1 with an exception set. */
static int
write_subclass_id(PyObject *id, Py_ssize_t i, char *id_out)
{
    int is_uuid = PyObject_IsInstance(id, UUID_TYPE);
    if (is_uuid <= 0) {
        if (is_uuid == 0) {
            PyErr_Format(PyExc_TypeError, "events[%zd].id: expected a uuid.UUID", i);
        }
        return -1;
    }
    PyObject *text = PyObject_Str(id);
    if (text == NULL) {
        return -1;
    }
    int ok = PyUnicode_Check(text) && PyUnicode_IS_ASCII(text) && PyUnicode_GET_LENGTH(text) == 36;
    if (ok) {
        memcpy(id_out, PyUnicode_1BYTE_DATA(text), 36);
    }
    else {
        PyErr_Format(PyExc_ValueError, "events[%zd].id: str() of a %s must be a UUID's 36 "
                     "characters", i, Py_TYPE(id)->tp_name);
    }
    Py_DECREF(text);
    return ok ? 0 : -1;
}

/* The parts of events[i] both request writers need: its data and metadata (borrowed, checked
 * to be bytes), its id's text (into id_out), and its type's cached bytes (a new reference)
 * from `cache`, else from `make(type)`. NULL with an exception set when it is not an
 * EncodedEvent. */
static PyObject *
event_parts(PyObject *event, Py_ssize_t i, PyObject *cache, PyObject *make, const char *what,
            char *id_out, PyObject **data, PyObject **meta)
{
    if (!PyTuple_Check(event) || PyTuple_GET_SIZE(event) < 4) {
        PyErr_Format(PyExc_TypeError, "events[%zd]: expected an EncodedEvent", i);
        return NULL;
    }
    PyObject *id = PyTuple_GET_ITEM(event, 0), *type = PyTuple_GET_ITEM(event, 1);
    *data = PyTuple_GET_ITEM(event, 2);
    *meta = PyTuple_GET_ITEM(event, 3);
    if (!PyBytes_Check(*data) || !PyBytes_Check(*meta)) {
        PyErr_Format(PyExc_TypeError, "events[%zd]: data and metadata must be bytes", i);
        return NULL;
    }
    if (Py_TYPE(id) == (PyTypeObject *)UUID_TYPE) {
        if (write_uuid(id, id_out) < 0) {
            return NULL;
        }
    }
    else if (write_subclass_id(id, i, id_out) < 0) {
        return NULL;
    }
    PyObject *cached = PyDict_GetItemWithError(cache, type);
    if (cached != NULL) {
        Py_INCREF(cached);
    }
    else if (PyErr_Occurred() || (cached = PyObject_CallOneArg(make, type)) == NULL) {
        return NULL;
    }
    if (!PyBytes_Check(cached)) {
        Py_DECREF(cached);
        PyErr_Format(PyExc_TypeError, "events[%zd]: the %s must be bytes", i, what);
        return NULL;
    }
    return cached;
}

/* What both request writers hold during one call: the events, each one's id text and its
 * type's cached bytes (a type map or a schema), and the request's length so far. */
typedef struct {
    PyObject *events;     /* the events as a PySequence_Fast */
    PyObject **items;
    Py_ssize_t n;
    PyObject **per_type;  /* each event's cached type bytes (new references, or NULL) */
    char *ids;            /* each event's id text, 36 characters each */
    Py_ssize_t *sizes;    /* each event's message length on the wire, without its own head */
    Py_ssize_t total;     /* the request's length */
    PyObject *out;        /* the request, once its length is known */
} Batch;

/* Check the arguments shared by both writers and allocate per-event room: 0, or -1 with an
 * exception set (nothing to release then). */
static int
batch_start(Batch *b, const char *name, PyObject *events, PyObject *cache, PyObject *head,
            PyObject *tail)
{
    if (!PyDict_Check(cache) || !PyBytes_Check(head) || !PyBytes_Check(tail)) {
        PyErr_Format(PyExc_TypeError, "%s: expected a dict and two bytes", name);
        return -1;
    }
    b->events = PySequence_Fast(events, "events must be a sequence");
    if (b->events == NULL) {
        return -1;
    }
    b->n = PySequence_Fast_GET_SIZE(b->events);
    b->items = PySequence_Fast_ITEMS(b->events);
    b->per_type = PyMem_Calloc(b->n ? (size_t)b->n : 1, sizeof(PyObject *));
    b->ids = PyMem_Malloc(b->n ? (size_t)b->n * 36 : 1);
    b->sizes = PyMem_Malloc((b->n ? (size_t)b->n : 1) * sizeof(Py_ssize_t));
    b->total = PyBytes_GET_SIZE(head) + PyBytes_GET_SIZE(tail);
    if (b->per_type == NULL || b->ids == NULL || b->sizes == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* events[i]'s parts (see event_parts), its type bytes kept in b: borrowed from b, or NULL. */
static PyObject *
batch_event(Batch *b, Py_ssize_t i, PyObject *cache, PyObject *make, const char *what,
            PyObject **data, PyObject **meta)
{
    b->per_type[i] = event_parts(b->items[i], i, cache, make, what, b->ids + 36 * i, data, meta);
    return b->per_type[i];
}

/* events[i]'s message is `size` long (its field head, written by the caller, comes on top). */
static void
batch_sized(Batch *b, Py_ssize_t i, Py_ssize_t size)
{
    b->sizes[i] = size;
    b->total += 1 + varint_size(size) + size;
}

/* The request's bytes, allocated at their known length, `head` written: where to go on. */
static char *
batch_open(Batch *b, PyObject *head)
{
    b->out = PyBytes_FromStringAndSize(NULL, b->total);
    return b->out == NULL ? NULL : write_bytes(PyBytes_AS_STRING(b->out), head);
}

/* Write `tail` at w and give the request (a new reference), or NULL with an exception set. */
static PyObject *
batch_close(Batch *b, char *w, PyObject *tail, const char *name)
{
    w = write_bytes(w, tail);
    if (w != PyBytes_AS_STRING(b->out) + b->total) {  /* cannot happen: sizes and writes agree */
        PyErr_Format(PyExc_SystemError, "%s: size mismatch", name);
        return NULL;
    }
    return Py_NewRef(b->out);
}

static void
batch_end(Batch *b)
{
    release_refs(b->per_type, b->n);
    PyMem_Free(b->ids);
    PyMem_Free(b->sizes);
    Py_XDECREF(b->out);
    Py_XDECREF(b->events);
}

static PyObject *
proposed_messages(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (wrong_count("proposed_messages(events, type_maps, type_map, head, tail)", nargs, 5)) {
        return NULL;
    }
    PyObject *maps = args[1], *make = args[2], *head = args[3], *tail = args[4];
    Batch batch = {NULL, NULL, 0, NULL, NULL, NULL, 0, NULL};
    PyObject *out = NULL;
    if (batch_start(&batch, "proposed_messages", args[0], maps, head, tail) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < batch.n; i++) {
        PyObject *data, *meta;
        PyObject *map = batch_event(&batch, i, maps, make, "type map", &data, &meta);
        if (map == NULL) {
            goto done;
        }
        batch_sized(&batch, i, message_size(PyBytes_GET_SIZE(map), PyBytes_GET_SIZE(meta),
                                            PyBytes_GET_SIZE(data)));
    }
    char *p = batch_open(&batch, head);
    if (p == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < batch.n; i++) {
        PyObject *event = batch.items[i];
        PyObject *data = PyTuple_GET_ITEM(event, 2), *meta = PyTuple_GET_ITEM(event, 3);
        *p++ = 0x1A;  /* BatchAppendReq.proposed_messages (field 3) */
        p = write_varint(p, batch.sizes[i]);
        /* field 1, an event_store.client.UUID with its 36-character string form */
        *p++ = 0x0A;
        *p++ = 38;
        *p++ = 0x12;
        *p++ = 36;
        memcpy(p, batch.ids + 36 * i, 36);
        p += 36;
        p = write_bytes(p, batch.per_type[i]);  /* field 2, the type map */
        p = write_optional_field(p, 0x1A, meta);  /* field 3, custom_metadata */
        p = write_optional_field(p, 0x22, data);  /* field 4, data */
    }
    out = batch_close(&batch, p, tail, "proposed_messages");
done:
    batch_end(&batch);
    return out;
}

/* -- append_records ------------------------------------------------------------------------- */

/* One span of the metadata bytes: a property's value. */
typedef struct {
    Py_ssize_t start, length;
} Span;

/* A record's properties: four spans of the standard metadata, or a Python bytes object. */
typedef struct {
    PyObject *bytes;  /* the properties from _wire._properties (not standard metadata), or NULL */
    Span causation, correlation, host, created;  /* host.length < 0: no ClientHostName */
    Py_ssize_t size;  /* the properties' length on the wire */
} Properties;

static const char KEY_CAUSATION[] = "$causationId";
static const char KEY_CORRELATION[] = "$correlationId";
static const char KEY_HOST[] = "ClientHostName";
static const char KEY_CREATED[] = "Created";

/* Match `literal` at *at; advance past it. */
static int
take(const char *text, Py_ssize_t length, Py_ssize_t *at, const char *literal)
{
    size_t n = strlen(literal);
    if (*at + (Py_ssize_t)n > length || memcmp(text + *at, literal, n) != 0) {
        return 0;
    }
    *at += (Py_ssize_t)n;
    return 1;
}

static int created_char(unsigned char c)
{
    return c == '-' || (c >= '0' && c <= '9') || c == 'T' || c == ':' || c == '.' || c == '+'
           || c == 'Z';
}

static int host_char(unsigned char c)
{
    return c != '"' && c != '\\' && c >= 0x20 && c < 0x7F;
}

static int id_char(unsigned char c)
{
    return c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* A quoted value of allowed characters (min..max of them) at *at, up to its closing quote. */
static int
take_value(const char *text, Py_ssize_t length, Py_ssize_t *at, int (*allowed)(unsigned char),
           Py_ssize_t min, Py_ssize_t max, Span *span)
{
    Py_ssize_t start = *at, i = start;
    while (i < length && i - start < max + 1 && allowed((unsigned char)text[i])) {
        i++;
    }
    Py_ssize_t n = i - start;
    if (n < min || n > max || i >= length || text[i] != '"') {
        return 0;
    }
    span->start = start;
    span->length = n;
    *at = i + 1;
    return 1;
}

/* The spans of the metadata _wire._STANDARD matches; 0 when it does not match. */
static int
parse_standard(const char *text, Py_ssize_t length, Properties *out)
{
    Py_ssize_t at = 0;
    if (!take(text, length, &at, "{\"Created\":\"")
        || !take_value(text, length, &at, created_char, 1, 40, &out->created)) {
        return 0;
    }
    out->host.length = -1;
    if (take(text, length, &at, ",\"ClientHostName\":\"")) {
        if (!take_value(text, length, &at, host_char, 0, PY_SSIZE_T_MAX - 1, &out->host)) {
            return 0;
        }
    }
    if (!take(text, length, &at, ",\"$correlationId\":\"")
        || !take_value(text, length, &at, id_char, 36, 36, &out->correlation)
        || !take(text, length, &at, ",\"$causationId\":\"")
        || !take_value(text, length, &at, id_char, 36, 36, &out->causation)
        || !take(text, length, &at, "}")) {
        return 0;
    }
    return at == length;
}

/* The wire length of a properties entry: key -> Value(string_value=n bytes). */
static Py_ssize_t
entry_size(Py_ssize_t key, Py_ssize_t n)
{
    Py_ssize_t inner = 1 + varint_size(n) + n;
    Py_ssize_t outer = 1 + varint_size(key) + key + 1 + varint_size(inner) + inner;
    return 1 + varint_size(outer) + outer;
}

static char *
write_entry(char *p, const char *key, const char *value, Py_ssize_t n)
{
    Py_ssize_t k = (Py_ssize_t)strlen(key);
    Py_ssize_t inner = 1 + varint_size(n) + n;
    Py_ssize_t outer = 1 + varint_size(k) + k + 1 + varint_size(inner) + inner;
    *p++ = 0x12;  /* AppendRecord.properties (field 2), a map entry */
    p = write_varint(p, outer);
    *p++ = 0x0A;  /* the entry's key */
    p = write_varint(p, k);
    memcpy(p, key, (size_t)k);
    p += k;
    *p++ = 0x12;  /* the entry's value, a Value */
    p = write_varint(p, inner);
    *p++ = 0x1A;  /* Value.string_value */
    p = write_varint(p, n);
    memcpy(p, value, (size_t)n);
    return p + n;
}

static PyObject *
append_records(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (wrong_count("append_records(events, schemas, schema, properties, head, tail)", nargs,
                    6)) {
        return NULL;
    }
    PyObject *schemas = args[1], *schema = args[2], *properties = args[3];
    PyObject *head = args[4], *tail = args[5];
    Batch batch = {NULL, NULL, 0, NULL, NULL, NULL, 0, NULL};
    Properties *props = NULL;
    PyObject *out = NULL;
    if (batch_start(&batch, "append_records", args[0], schemas, head, tail) < 0) {
        goto done;
    }
    props = PyMem_Calloc(batch.n ? (size_t)batch.n : 1, sizeof(Properties));
    if (props == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < batch.n; i++) {
        PyObject *data, *meta;
        PyObject *found = batch_event(&batch, i, schemas, schema, "schema", &data, &meta);
        if (found == NULL) {
            goto done;
        }
        Properties *p = &props[i];
        if (parse_standard(PyBytes_AS_STRING(meta), PyBytes_GET_SIZE(meta), p)) {
            p->size = entry_size((Py_ssize_t)strlen(KEY_CAUSATION), p->causation.length)
                      + entry_size((Py_ssize_t)strlen(KEY_CORRELATION), p->correlation.length)
                      + entry_size((Py_ssize_t)strlen(KEY_CREATED), p->created.length);
            if (p->host.length >= 0) {
                p->size += entry_size((Py_ssize_t)strlen(KEY_HOST), p->host.length);
            }
        }
        else {  /* custom keys, a user, escapes: the Python path (it raises for non-strings) */
            p->bytes = PyObject_CallOneArg(properties, meta);
            if (p->bytes == NULL) {
                goto done;
            }
            if (!PyBytes_Check(p->bytes)) {
                PyErr_Format(PyExc_TypeError, "events[%zd]: the properties must be bytes", i);
                goto done;
            }
            p->size = PyBytes_GET_SIZE(p->bytes);
        }
        Py_ssize_t data_len = PyBytes_GET_SIZE(data);
        batch_sized(&batch, i, 38 + p->size + PyBytes_GET_SIZE(found)
                                   + (data_len ? 1 + varint_size(data_len) + data_len : 0));
    }
    char *w = batch_open(&batch, head);
    if (w == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < batch.n; i++) {
        PyObject *event = batch.items[i];
        PyObject *data = PyTuple_GET_ITEM(event, 2), *meta = PyTuple_GET_ITEM(event, 3);
        const char *text = PyBytes_AS_STRING(meta);
        Properties *p = &props[i];
        *w++ = 0x12;  /* AppendRequest.records (field 2) */
        w = write_varint(w, batch.sizes[i]);
        *w++ = 0x0A;  /* AppendRecord.record_id: the 36-character string */
        *w++ = 36;
        memcpy(w, batch.ids + 36 * i, 36);
        w += 36;
        if (p->bytes != NULL) {
            memcpy(w, PyBytes_AS_STRING(p->bytes), (size_t)p->size);
            w += p->size;
        }
        else {  /* sorted keys, as the Python path writes them */
            w = write_entry(w, KEY_CAUSATION, text + p->causation.start, p->causation.length);
            w = write_entry(w, KEY_CORRELATION, text + p->correlation.start,
                            p->correlation.length);
            if (p->host.length >= 0) {
                w = write_entry(w, KEY_HOST, text + p->host.start, p->host.length);
            }
            w = write_entry(w, KEY_CREATED, text + p->created.start, p->created.length);
        }
        w = write_bytes(w, batch.per_type[i]);  /* field 3, the schema */
        w = write_optional_field(w, 0x22, data);  /* field 4, data */
    }
    out = batch_close(&batch, w, tail, "append_records");
done:
    if (props != NULL) {
        for (Py_ssize_t i = 0; i < batch.n; i++) {
            Py_XDECREF(props[i].bytes);
        }
        PyMem_Free(props);
    }
    batch_end(&batch);
    return out;
}

/* -- log_json ------------------------------------------------------------------------------- */

/* A growing output buffer. */
typedef struct {
    char *data;
    Py_ssize_t size, capacity;
} Out;

static int
out_reserve(Out *out, Py_ssize_t more)
{
    if (out->size + more <= out->capacity) {
        return 0;
    }
    Py_ssize_t capacity = out->capacity * 2;
    if (capacity < out->size + more) {
        capacity = out->size + more + 256;
    }
    char *data = PyMem_Realloc(out->data, (size_t)capacity);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    out->data = data;
    out->capacity = capacity;
    return 0;
}

static int
out_write(Out *out, const char *text, Py_ssize_t n)
{
    if (out_reserve(out, n) < 0) {
        return -1;
    }
    memcpy(out->data + out->size, text, (size_t)n);
    out->size += n;
    return 0;
}

#define OUT_LITERAL(out, literal) out_write(out, literal, (Py_ssize_t)sizeof(literal) - 1)

/* A JSON string as orjson writes it: `"` and `\` escaped, \b \t \n \f \r, other control
 * characters as \u00xx, everything else (DEL, non-ASCII) as UTF-8. 1 when the text cannot be
 * written here (a lone surrogate: orjson refuses it, the Python path says where). */
static int
out_string(Out *out, PyObject *text)
{
    Py_ssize_t n;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &n);
    if (utf8 == NULL) {
        PyErr_Clear();
        return 1;
    }
    if (out_reserve(out, n * 6 + 2) < 0) {
        return -1;
    }
    char *p = out->data + out->size;
    *p++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)utf8[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\b': *p++ = 'b'; break;
        case '\t': *p++ = 't'; break;
        case '\n': *p++ = 'n'; break;
        case '\f': *p++ = 'f'; break;
        case '\r': *p++ = 'r'; break;
        default:
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = HEX[c >> 4];
            *p++ = HEX[c & 0xF];
        }
    }
    *p++ = '"';
    out->size = p - out->data;
    return 0;
}

/* A str or None (null); 1 for anything else (the Python path writes it). */
static int
out_optional_string(Out *out, PyObject *value)
{
    if (value == Py_None) {
        return OUT_LITERAL(out, "null");
    }
    if (!PyUnicode_CheckExact(value)) {
        return 1;
    }
    return out_string(out, value);
}

/* An int (within orjson's 64-bit range) or None; 1 for anything else (bool, big, ...). */
static int
out_optional_int(Out *out, PyObject *value)
{
    if (value == Py_None) {
        return OUT_LITERAL(out, "null");
    }
    if (!PyLong_CheckExact(value)) {
        return 1;
    }
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (n == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow) {
        return 1;
    }
    char digits[32];
    int length = snprintf(digits, sizeof(digits), "%lld", n);
    return out_write(out, digits, length);
}

/* Run `call` unless an earlier step failed (status: 0 ok, 1 left to Python, -1 error). */
#define STEP(call) \
    if (status == 0) { \
        status = (call); \
    }

/* The fields every LogRecorded body starts with, Id to Service, in the order build() gives
 * them (stdlib and structlog lines alike); a status as STEP's. */
static int
out_log_fields(Out *out, PyObject *event_id, PyObject *level, PyObject *logger,
               PyObject *message, PyObject *template, const char *stamp, Py_ssize_t stamp_len,
               PyObject *thread, PyObject *process, PyObject *host, PyObject *service)
{
    int status = 0;
    STEP(OUT_LITERAL(out, "{\"Id\":"));
    STEP(out_string(out, event_id));
    STEP(OUT_LITERAL(out, ",\"Level\":"));
    STEP(out_string(out, level));
    STEP(OUT_LITERAL(out, ",\"Logger\":"));
    STEP(out_string(out, logger));
    STEP(OUT_LITERAL(out, ",\"Message\":"));
    STEP(out_optional_string(out, message));
    STEP(OUT_LITERAL(out, ",\"Template\":"));
    STEP(out_optional_string(out, template));
    STEP(OUT_LITERAL(out, ",\"Timestamp\":\""));
    STEP(out_write(out, stamp, stamp_len));
    STEP(OUT_LITERAL(out, "\",\"Exception\":null,\"Thread\":"));
    STEP(out_optional_string(out, thread));
    STEP(OUT_LITERAL(out, ",\"Process\":"));
    STEP(out_optional_int(out, process));
    STEP(OUT_LITERAL(out, ",\"Host\":"));
    STEP(out_string(out, host));
    STEP(OUT_LITERAL(out, ",\"Service\":"));
    STEP(out_string(out, service));
    return status;
}

/* What a body writer returns for `status` (STEP's): the bytes written, None (a value only the
 * Python path writes), or NULL (an error, already set). */
static PyObject *
out_result(Out *out, int status)
{
    if (status < 0) {
        return NULL;
    }
    return status == 0 ? PyBytes_FromStringAndSize(out->data, out->size) : Py_NewRef(Py_None);
}

/* The message: str(msg) % args when there are args (logging's getMessage); NULL with no
 * exception set when formatting fails (the Python path words that failure). */
static PyObject *
log_message(PyObject *msg, PyObject *args)
{
    PyObject *text = PyObject_Str(msg);
    if (text == NULL) {
        PyErr_Clear();
        return NULL;
    }
    int has_args = PyObject_IsTrue(args);
    if (has_args <= 0) {
        if (has_args < 0) {
            PyErr_Clear();
            Py_DECREF(text);
            return NULL;
        }
        return text;
    }
    PyObject *message = PyUnicode_Format(text, args);
    Py_DECREF(text);
    if (message == NULL) {
        PyErr_Clear();
    }
    return message;
}

static PyObject *
log_json(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (wrong_count("log_json(payload, event_id, service, host, cached)", nargs, 5)) {
        return NULL;
    }
    PyObject *payload = args[0], *event_id = args[1], *service = args[2], *host = args[3];
    if (!PyTuple_CheckExact(payload) || PyTuple_GET_SIZE(payload) != 12
        || !PyUnicode_CheckExact(event_id) || !PyUnicode_CheckExact(service)
        || !PyUnicode_CheckExact(host)) {
        Py_RETURN_NONE;
    }
    PyObject *name = PyTuple_GET_ITEM(payload, 0), *level = PyTuple_GET_ITEM(payload, 1);
    PyObject *msg = PyTuple_GET_ITEM(payload, 2), *msg_args = PyTuple_GET_ITEM(payload, 3);
    PyObject *created = PyTuple_GET_ITEM(payload, 4), *exc_info = PyTuple_GET_ITEM(payload, 5);
    PyObject *exc_text = PyTuple_GET_ITEM(payload, 6), *thread = PyTuple_GET_ITEM(payload, 7);
    PyObject *process = PyTuple_GET_ITEM(payload, 8), *module_name = PyTuple_GET_ITEM(payload, 9);
    PyObject *function = PyTuple_GET_ITEM(payload, 10), *line = PyTuple_GET_ITEM(payload, 11);
    if (exc_info != Py_None || exc_text != Py_None || !PyUnicode_CheckExact(level)
        || !PyUnicode_CheckExact(name)) {
        Py_RETURN_NONE;  /* an exception to describe, or odd values: the Python path */
    }
    char stamp[96];
    Py_ssize_t stamp_len = write_stamp(created, args[4], stamp);
    if (stamp_len <= 0) {
        if (stamp_len < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    PyObject *message = log_message(msg, msg_args);
    if (message == NULL) {
        Py_RETURN_NONE;
    }
    PyObject *template = NULL;
    if (PyUnicode_CheckExact(msg)) {
        template = Py_NewRef(msg);
    }
    else if ((template = PyObject_Str(msg)) == NULL) {
        PyErr_Clear();
        Py_DECREF(message);
        Py_RETURN_NONE;
    }
    Out out = {PyMem_Malloc(512), 0, 512};
    PyObject *result = NULL;
    if (out.data == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int status = out_log_fields(&out, event_id, level, name, message, template, stamp,
                                stamp_len, thread, process, host, service);
    STEP(OUT_LITERAL(&out, ",\"Module\":"));
    STEP(out_optional_string(&out, module_name));
    STEP(OUT_LITERAL(&out, ",\"Function\":"));
    STEP(out_optional_string(&out, function));
    STEP(OUT_LITERAL(&out, ",\"Line\":"));
    STEP(out_optional_int(&out, line));
    STEP(OUT_LITERAL(&out, ",\"Properties\":{}}"));
    result = out_result(&out, status);
done:
    PyMem_Free(out.data);
    Py_DECREF(message);
    Py_DECREF(template);
    return result;
}

/* -- structlog_json ------------------------------------------------------------------------- */

/* A property value: str, int (64-bit), bool, None, or a list/tuple of those (a JSON array);
 * 1 for anything else (the Python path converts it). */
static int
out_simple(Out *out, PyObject *value, int depth)
{
    if (value == Py_None) {
        return OUT_LITERAL(out, "null");
    }
    if (value == Py_True) {
        return OUT_LITERAL(out, "true");
    }
    if (value == Py_False) {
        return OUT_LITERAL(out, "false");
    }
    if (PyUnicode_CheckExact(value)) {
        return out_string(out, value);
    }
    if (PyLong_CheckExact(value)) {
        return out_optional_int(out, value);
    }
    if (depth == 0 && (PyList_CheckExact(value) || PyTuple_CheckExact(value))) {
        PyObject *items = PySequence_Fast(value, "");
        if (items == NULL) {
            return -1;
        }
        int status = OUT_LITERAL(out, "[");
        Py_ssize_t n = PySequence_Fast_GET_SIZE(items);
        for (Py_ssize_t i = 0; i < n && status == 0; i++) {
            if (i) {
                status = OUT_LITERAL(out, ",");
            }
            if (status == 0) {
                status = out_simple(out, PySequence_Fast_GET_ITEM(items, i), 1);
            }
        }
        if (status == 0) {
            status = OUT_LITERAL(out, "]");
        }
        Py_DECREF(items);
        return status;
    }
    return 1;
}

static PyObject *
structlog_json(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (wrong_count("structlog_json(payload, event_id, service, host, cached, pid, skip)",
                    nargs, 7)) {
        return NULL;
    }
    PyObject *payload = args[0], *event_id = args[1], *service = args[2], *host = args[3];
    PyObject *pid = args[5], *skip = args[6];
    if (!PyTuple_CheckExact(payload) || PyTuple_GET_SIZE(payload) != 4
        || !PyUnicode_CheckExact(event_id) || !PyUnicode_CheckExact(service)
        || !PyUnicode_CheckExact(host) || !PyFrozenSet_CheckExact(skip)) {
        Py_RETURN_NONE;
    }
    PyObject *d = PyTuple_GET_ITEM(payload, 0), *method = PyTuple_GET_ITEM(payload, 1);
    PyObject *created = PyTuple_GET_ITEM(payload, 2), *thread = PyTuple_GET_ITEM(payload, 3);
    if (!PyDict_CheckExact(d) || !PyUnicode_CheckExact(method)
        || PyDict_GetItemString(d, "exception") != NULL || PyDict_GetItemString(d, "exc_info") != NULL) {
        Py_RETURN_NONE;  /* an exception to describe, or odd values: the Python path */
    }
    PyObject *message = PyDict_GetItemString(d, "event");
    PyObject *level = PyDict_GetItemString(d, "level");
    PyObject *logger = PyDict_GetItemString(d, "logger");
    int truthy = level == NULL ? 0 : PyObject_IsTrue(level);
    if (truthy < 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (!truthy) {  /* `d.pop("level", None) or method` */
        level = method;
    }
    if ((message != NULL && !PyUnicode_CheckExact(message)) || !PyUnicode_CheckExact(level)
        || (logger != NULL && logger != Py_None && !PyUnicode_CheckExact(logger))) {
        Py_RETURN_NONE;
    }
    char stamp[96];
    Py_ssize_t stamp_len = write_stamp(created, args[4], stamp);
    if (stamp_len <= 0) {
        if (stamp_len < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    PyObject *upper = PyObject_CallMethod(level, "upper", NULL);
    if (upper == NULL) {
        return NULL;
    }
    Out out = {PyMem_Malloc(512), 0, 512};
    PyObject *result = NULL;
    if (out.data == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (logger == NULL || logger == Py_None) {  /* `str(d.pop("logger", "") or "")` */
        logger = EMPTY_STR;
    }
    if (message == NULL) {
        message = EMPTY_STR;
    }
    int status = out_log_fields(&out, event_id, upper, logger, message, message, stamp,
                                stamp_len, thread, pid, host, service);
    STEP(OUT_LITERAL(&out, ",\"Properties\":{"));
    Py_ssize_t position = 0;
    PyObject *key, *value;
    int first = 1;
    while (status == 0 && PyDict_Next(d, &position, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            status = 1;
            break;
        }
        int skipped = PySet_Contains(skip, key);
        if (skipped < 0) {
            status = -1;
            break;
        }
        if (skipped) {
            continue;
        }
        if (!first) {
            STEP(OUT_LITERAL(&out, ","));
        }
        first = 0;
        STEP(out_string(&out, key));
        STEP(OUT_LITERAL(&out, ":"));
        STEP(out_simple(&out, value, 0));
    }
    STEP(OUT_LITERAL(&out, "}}"));
    result = out_result(&out, status);
done:
    PyMem_Free(out.data);
    Py_DECREF(upper);
    return result;
}

/* -- object_json ---------------------------------------------------------------------------- */

/* The value kinds a field may be written as here (Values._compile's exact-type branches). */
enum { KIND_NONE = 1, KIND_STR = 2, KIND_BOOL = 4, KIND_INT = 8, KIND_FLOAT = 16, KIND_UUID = 32 };

/* An int within orjson's range (-2**63 .. 2**64-1); 1 for any other. */
static int
out_int(Out *out, PyObject *value)
{
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(value, &overflow);
    char digits[32];
    int length;
    if (n == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow > 0) {
        unsigned long long u = PyLong_AsUnsignedLongLong(value);
        if (u == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 1;
        }
        length = snprintf(digits, sizeof(digits), "%llu", u);
    }
    else if (overflow < 0) {
        return 1;
    }
    else {
        length = snprintf(digits, sizeof(digits), "%lld", n);
    }
    return out_write(out, digits, length);
}

/* Up to 9 decimals: a float with more (1/3, a measurement) goes to dtoa after 10 tries. */
static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* repr(v) for 1e-4 <= |v| < 2**50 with few decimals (12.5, 0.25, 19.99), without dtoa; the
 * length, or 0 when dtoa must decide (out holds 40 bytes).
 *
 * repr() is the shortest decimal that reads back as v. Try k = 0, 1, ... decimals: the integer
 * m nearest to |v| * 10**k. The reals that read back as v span at most one ulp of v, at most
 * 2**-52 |v|; scaled by 10**k < 2**50 / |v| that is under 1/4, so at most one integer reads
 * back as v at that scale, and m is it if any is (the product's rounding error is at most
 * 1/8). m / 10**k is one correctly rounded division of exact operands, so `== |v|` is exactly
 * "reads back as v". The first k that passes has the fewest decimals, hence the fewest
 * digits: repr's digits. */
static int
short_float(double v, char *out)
{
    double a = fabs(v);
    if (!(a >= 1e-4 && a < 1125899906842624.0)) {  /* 2**50; also NaN */
        return 0;
    }
    for (int k = 0; k < (int)(sizeof(POW10) / sizeof(POW10[0])); k++) {
        double scaled = a * POW10[k];
        if (scaled >= 1125899906842624.0) {
            return 0;
        }
        double m = nearbyint(scaled);
        if (m / POW10[k] != a) {
            continue;
        }
        char digits[24];
        int n = 0;
        unsigned long long u = (unsigned long long)m;  /* exact: m < 2**50 */
        do {
            digits[sizeof(digits) - 1 - n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        memmove(digits, digits + sizeof(digits) - n, (size_t)n);
        char *p = out;
        if (v < 0) {
            *p++ = '-';
        }
        if (k == 0) {
            memcpy(p, digits, (size_t)n);
            p += n;
            *p++ = '.';
            *p++ = '0';
        }
        else if (n > k) {  /* 12.5: digits before and after the point */
            memcpy(p, digits, (size_t)(n - k));
            p += n - k;
            *p++ = '.';
            memcpy(p, digits + n - k, (size_t)k);
            p += k;
        }
        else {  /* 0.0025: zeros after the point, then the digits */
            *p++ = '0';
            *p++ = '.';
            memset(p, '0', (size_t)(k - n));
            p += k - n;
            memcpy(p, digits, (size_t)n);
            p += n;
        }
        return (int)(p - out);
    }
    return 0;
}

/* A float as orjson writes it: within 1e-4 <= |v| < 1e16 (or 0) that is repr(); 1 outside. */
static int
out_float(Out *out, PyObject *value)
{
    double v = PyFloat_AS_DOUBLE(value);
    double a = fabs(v);
    if (!(a == 0.0 || (a >= 1e-4 && a < 1e16))) {
        return 1;  /* also NaN and infinities: the Python path refuses them */
    }
    char quick[40];
    int length = short_float(v, quick);
    if (length > 0) {
        return out_write(out, quick, length);
    }
    char *text = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (text == NULL) {
        return -1;
    }
    int status = out_write(out, text, (Py_ssize_t)strlen(text));
    PyMem_Free(text);
    return status;
}

static PyObject *
float_json(PyObject *module, PyObject *value)
{
    if (!PyFloat_CheckExact(value)) {
        PyErr_SetString(PyExc_TypeError, "float_json: expected a float");
        return NULL;
    }
    Out out = {NULL, 0, 0};
    int status = out_float(&out, value);
    PyObject *text = status == 0 ? PyUnicode_FromStringAndSize(out.data, out.size)
                     : status == 1 ? Py_NewRef(Py_None)
                                   : NULL;
    PyMem_Free(out.data);
    return text;
}

/* One field's value when its kinds allow it (0); 1 when only the Python path can write it. */
static int
out_field_value(Out *out, PyObject *value, long kinds)
{
    if (value == Py_None) {
        return kinds & KIND_NONE ? OUT_LITERAL(out, "null") : 1;
    }
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyUnicode_Type) {
        return kinds & KIND_STR ? out_string(out, value) : 1;
    }
    if (type == &PyBool_Type) {
        if (!(kinds & KIND_BOOL)) {
            return 1;
        }
        return value == Py_True ? OUT_LITERAL(out, "true") : OUT_LITERAL(out, "false");
    }
    if (type == &PyLong_Type) {
        return kinds & KIND_INT ? out_int(out, value) : 1;
    }
    if (type == &PyFloat_Type) {
        return kinds & KIND_FLOAT ? out_float(out, value) : 1;
    }
    if ((PyObject *)type == UUID_TYPE && (kinds & KIND_UUID)) {
        char text[38];
        text[0] = '"';
        text[37] = '"';
        int status = write_uuid(value, text + 1);
        return status != 0 ? status : out_write(out, text, 38);
    }
    return 1;
}

/* The JSON body of an event object laid out as its class was compiled for: `keys` its
 * attribute names in order, `fields` per key None (not written) or (the JSON of its C# name
 * and a colon, kinds, omitted when None, is the "Id"), the "Id" written as `id_text`. None when
 * the layout differs or a value is not of a kind written here (Values.object_fields then). */
static PyObject *
object_json(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (wrong_count("object_json(obj, keys, fields, id_text)", nargs, 4)) {
        return NULL;
    }
    PyObject *obj = args[0], *keys = args[1], *fields = args[2], *id = args[3];
    if (!PyTuple_CheckExact(keys) || !PyTuple_CheckExact(fields)
        || PyTuple_GET_SIZE(keys) != PyTuple_GET_SIZE(fields) || !PyUnicode_CheckExact(id)) {
        PyErr_SetString(PyExc_TypeError, "object_json: expected tuples of equal length and a str");
        return NULL;
    }
    PyObject *d = PyObject_GetAttr(obj, DICT_NAME);
    if (d == NULL) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    PyObject *result = NULL;
    Out out = {NULL, 0, 0};
    int status = 0;
    if (!PyDict_CheckExact(d) || PyDict_GET_SIZE(d) != PyTuple_GET_SIZE(keys)) {
        status = 1;
        goto done;
    }
    out.data = PyMem_Malloc(256);
    if (out.data == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    out.capacity = 256;
    STEP(OUT_LITERAL(&out, "{"));
    Py_ssize_t position = 0, i = 0;
    PyObject *key, *value;
    int first = 1;
    /* Only exact str, int, float, bool, None and UUID values are read: no Python code runs
     * while the dict is walked. */
    while (status == 0 && PyDict_Next(d, &position, &key, &value)) {
        PyObject *expected = PyTuple_GET_ITEM(keys, i);
        if (key != expected) {
            int same = PyObject_RichCompareBool(key, expected, Py_EQ);
            if (same <= 0) {
                status = same < 0 ? -1 : 1;
                break;
            }
        }
        PyObject *field = PyTuple_GET_ITEM(fields, i++);
        if (field == Py_None) {
            continue;
        }
        if (!PyTuple_CheckExact(field) || PyTuple_GET_SIZE(field) != 4
            || !PyBytes_CheckExact(PyTuple_GET_ITEM(field, 0))) {
            PyErr_SetString(PyExc_TypeError, "object_json: a field is (bytes, int, bool, bool)");
            status = -1;
            break;
        }
        long kinds = PyLong_AsLong(PyTuple_GET_ITEM(field, 1));
        if (kinds == -1 && PyErr_Occurred()) {
            status = -1;
            break;
        }
        if (value == Py_None && PyTuple_GET_ITEM(field, 2) == Py_True) {
            continue;  /* omitted when None */
        }
        if (!first) {
            STEP(OUT_LITERAL(&out, ","));
        }
        first = 0;
        PyObject *name = PyTuple_GET_ITEM(field, 0);
        STEP(out_write(&out, PyBytes_AS_STRING(name), PyBytes_GET_SIZE(name)));
        if (PyTuple_GET_ITEM(field, 3) == Py_True) {
            /* the event id replaces the value, which must still be one written here */
            if (status == 0 && !((PyObject *)Py_TYPE(value) == UUID_TYPE && (kinds & KIND_UUID))) {
                Out scratch = {NULL, 0, 0};
                status = out_field_value(&scratch, value, kinds);
                PyMem_Free(scratch.data);
            }
            STEP(out_string(&out, id));
        }
        else {
            STEP(out_field_value(&out, value, kinds));
        }
    }
    STEP(OUT_LITERAL(&out, "}"));
    result = out_result(&out, status);
done:
    if (status == 1 && result == NULL) {
        result = Py_NewRef(Py_None);
    }
    PyMem_Free(out.data);
    Py_DECREF(d);
    return result;
}

/* The standard metadata of an event with a correlation context (metadata_json's arguments
 * from it); None when it has a user id or when metadata_json leaves it to Python. */
static PyObject *
context_metadata(PyObject *module, PyObject *const *args, PyObject *context)
{
    PyObject *user = PyObject_GetAttr(context, USER_NAME);
    if (user == NULL) {
        return NULL;
    }
    Py_DECREF(user);
    if (user != Py_None) {
        Py_RETURN_NONE;
    }
    PyObject *ids[2] = {NULL, NULL}, *result = NULL;
    PyObject *names[2] = {CORRELATION_NAME, CAUSATION_NAME};
    for (int i = 0; i < 2; i++) {
        PyObject *value = PyObject_GetAttr(context, names[i]);
        if (value == NULL) {
            goto done;
        }
        ids[i] = uuid_text(module, value);
        Py_DECREF(value);
        if (ids[i] == NULL) {
            goto done;
        }
    }
    PyObject *meta_args[6] = {args[0], args[1], args[2], args[3], ids[0], ids[1]};
    result = metadata_json(module, meta_args, 6);
done:
    Py_XDECREF(ids[0]);
    Py_XDECREF(ids[1]);
    return result;
}

/* The standard metadata of an event (metadata_json): a root event's when context is None, else
 * the context's ids; None when Python writes it (a user id, another second). args: id_text,
 * created, cached, host. */
static PyObject *
standard_of(PyObject *module, PyObject *const *args, PyObject *context)
{
    if (context == Py_None) {
        PyObject *root_args[6] = {args[0], args[1], args[2], args[3], Py_None, Py_None};
        return metadata_json(module, root_args, 6);
    }
    return context_metadata(module, args, context);
}

static PyObject *
standard_json(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (wrong_count("standard_json(id_text, created, cached, host, context)", nargs, 5)) {
        return NULL;
    }
    return standard_of(module, args, args[4]);
}

/* Codec.encode of an event object in one call: its body (object_json) and, when `host` is a
 * str, its standard metadata (standard_json), as an `encoded` tuple (EncodedEvent). The body
 * alone (bytes) when the metadata is Python's to write; None when the body is. */
static PyObject *
object_event(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (wrong_count("object_event(obj, keys, fields, id_text, id, type, created, cached, host, "
                    "context, encoded)",
                    nargs, 11)) {
        return NULL;
    }
    PyObject *id = args[4], *type = args[5], *host = args[8];
    PyTypeObject *encoded = (PyTypeObject *)args[10];
    if (!PyType_Check(args[10]) || !PyType_IsSubtype(encoded, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "object_event: encoded must be a tuple subclass");
        return NULL;
    }
    PyObject *data = object_json(module, args, 4);
    if (data == NULL || data == Py_None || host == Py_None) {
        return data;
    }
    PyObject *meta_args[4] = {args[3], args[6], args[7], host};
    PyObject *meta = standard_of(module, meta_args, args[9]);
    if (meta == NULL || meta == Py_None) {
        Py_XDECREF(meta);
        if (meta == NULL) {
            Py_CLEAR(data);
        }
        return data;
    }
    PyObject *result = encoded->tp_alloc(encoded, 4);
    if (result == NULL) {
        Py_DECREF(data);
        Py_DECREF(meta);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, Py_NewRef(id));
    PyTuple_SET_ITEM(result, 1, Py_NewRef(type));
    PyTuple_SET_ITEM(result, 2, data);
    PyTuple_SET_ITEM(result, 3, meta);
    return result;
}

/* -- untrack / track ------------------------------------------------------------------------ */

/* A queued receipt is reachable from its writer's queue for as long as it is queued: the
 * cycle collector has nothing to find in it, and walking thousands of them in every collection
 * is what a burst paid most for. The writer untracks a receipt when it is queued and tracks it
 * again when it is resolved (a receipt the application keeps may then be in its cycles). */
static PyObject *
untrack(PyObject *module, PyObject *value)
{
#ifndef Py_GIL_DISABLED
    if (PyObject_IS_GC(value) && PyObject_GC_IsTracked(value)) {
        PyObject_GC_UnTrack(value);
    }
#endif
    Py_RETURN_NONE;
}

static PyObject *
track(PyObject *module, PyObject *value)
{
#ifndef Py_GIL_DISABLED
    if (PyObject_IS_GC(value) && !PyObject_GC_IsTracked(value)) {
        PyObject_GC_Track(value);
    }
#endif
    Py_RETURN_NONE;
}

/* -- module --------------------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"uuid_text", (PyCFunction)uuid_text, METH_O, "str(value) of a uuid.UUID, without Python code."},
    {"new_uuids", (PyCFunction)new_uuids, METH_O, "A version-4 uuid.UUID per 16 bytes of raw."},
    {"format_stamp", (PyCFunction)(void (*)(void))format_stamp, METH_FASTCALL,
     "The text of a timestamp within the cached second (second, head, tail), else None."},
    {"metadata_json", (PyCFunction)(void (*)(void))metadata_json, METH_FASTCALL,
     "The standard metadata JSON within the cached second, else None."},
    {"proposed_messages", (PyCFunction)(void (*)(void))proposed_messages, METH_FASTCALL,
     "head + each event as a BatchAppendReq proposed message (field 3) + tail."},
    {"log_json", (PyCFunction)(void (*)(void))log_json, METH_FASTCALL,
     "The LogRecorded body JSON of a compact log record, else None."},
    {"structlog_json", (PyCFunction)(void (*)(void))structlog_json, METH_FASTCALL,
     "The LogRecorded body JSON of a structlog line, else None."},
    {"object_json", (PyCFunction)(void (*)(void))object_json, METH_FASTCALL,
     "The body JSON of an event object of a compiled layout, else None."},
    {"object_event", (PyCFunction)(void (*)(void))object_event, METH_FASTCALL,
     "An event object's EncodedEvent (body and standard metadata), its body, or None."},
    {"standard_json", (PyCFunction)(void (*)(void))standard_json, METH_FASTCALL,
     "An event's standard metadata JSON (root, or a context's ids), else None."},
    {"float_json", (PyCFunction)float_json, METH_O,
     "A float's JSON text as object_json writes it, else None (outside 1e-4 <= |v| < 1e16)."},
    {"untrack", (PyCFunction)untrack, METH_O, "Stop the cycle collector walking value."},
    {"track", (PyCFunction)track, METH_O, "Let the cycle collector walk value again."},
    {"append_records", (PyCFunction)(void (*)(void))append_records, METH_FASTCALL,
     "head + each event as a v2 AppendRequest record (field 2) + tail."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "plumberd_logging._speedups",
    "The writer's per-event steps in C (optional; see _speedups.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *uuid = PyImport_ImportModule("uuid");
    if (uuid == NULL) {
        return NULL;
    }
    UUID_TYPE = PyObject_GetAttrString(uuid, "UUID");
    PyObject *safe = PyObject_GetAttrString(uuid, "SafeUUID");
    Py_DECREF(uuid);
    if (UUID_TYPE == NULL || safe == NULL) {
        return NULL;
    }
    UNKNOWN = PyObject_GetAttrString(safe, "unknown");
    Py_DECREF(safe);
    INT_NAME = PyUnicode_InternFromString("int");
    IS_SAFE_NAME = PyUnicode_InternFromString("is_safe");
    EMPTY = PyTuple_New(0);
    EMPTY_STR = PyUnicode_FromStringAndSize("", 0);
    SIXTY_FOUR = PyLong_FromLong(64);
    DICT_NAME = PyUnicode_InternFromString("__dict__");
    CORRELATION_NAME = PyUnicode_InternFromString("correlation_id");
    CAUSATION_NAME = PyUnicode_InternFromString("causation_id");
    USER_NAME = PyUnicode_InternFromString("user_id");
    if (UNKNOWN == NULL || INT_NAME == NULL || IS_SAFE_NAME == NULL || EMPTY == NULL
        || EMPTY_STR == NULL || SIXTY_FOUR == NULL || DICT_NAME == NULL
        || CORRELATION_NAME == NULL || CAUSATION_NAME == NULL || USER_NAME == NULL) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
