package io.taskbatch.plan;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.taskbatch.api.TaskBatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Reads a TaskBatch manifest: one YAML file, possibly with several documents (ConfigMaps beside the
 * TaskBatch). Unknown fields and wrong types are errors that name the field, as {@code kubectl
 * apply}'s strict field validation would report them.
 */
public final class ManifestLoader {
    /** More problems than this in one TaskBatch are not worth binding again for. */
    private static final int MAX_PROBLEMS = 100;
    private static final YAMLMapper MAPPER = YAMLMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .defaultSetterInfo(JsonSetter.Value.forValueNulls(Nulls.SKIP))
            .build();

    private ManifestLoader() {
    }

    /** The YAML parser's own limit (3 Mi code points): a bigger file is refused before it is read. */
    static final long MAX_BYTES = 3L << 20;

    public static Manifest load(Path file) throws InvalidManifestException {
        String text;
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw new InvalidManifestException(file.toString(), String.format(java.util.Locale.ROOT,
                        "is %.1f MiB; a manifest may be at most 3 MiB (a TaskBatch on a cluster, 1.5 MiB): put big or "
                                + "many inputs in a file (spec.tasks.configMap of a local file, or spec.tasks.files)",
                        size / (double) (1 << 20)));
            }
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new InvalidManifestException(file.toString(), "no such file");
        } catch (IOException e) {
            throw new InvalidManifestException(file.toString(), "cannot read: " + e.getMessage());
        }
        return parse(text, file);
    }

    public static Manifest parse(String yaml, Path file) throws InvalidManifestException {
        List<JsonNode> documents = new ArrayList<>();
        try (MappingIterator<JsonNode> it = MAPPER.readerFor(JsonNode.class).readValues(yaml)) {
            while (it.hasNextValue()) {
                JsonNode doc = it.nextValue();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) documents.add(doc);
            }
        } catch (IOException e) {
            throw new InvalidManifestException(where(e), "not valid YAML: " + originalMessage(e));
        }
        JsonNode batchNode = null;
        Map<String, Map<String, String>> configMaps = new LinkedHashMap<>();
        List<String> kinds = new ArrayList<>();
        List<Violation> violations = new ArrayList<>();
        for (JsonNode doc : documents) {
            if (!doc.isObject()) {
                violations.add(new Violation("(document)", "expected a Kubernetes object (a mapping with apiVersion and kind), got "
                        + doc.getNodeType().toString().toLowerCase()));
                continue;
            }
            String kind = doc.path("kind").asText("");
            kinds.add(kind.isEmpty() ? "(no kind)" : kind);
            if (kind.equals(TaskBatch.KIND)) {
                if (batchNode != null) {
                    throw new InvalidManifestException("kind", "the file holds more than one TaskBatch; give each its own file");
                }
                batchNode = doc;
            } else if (kind.equals("ConfigMap")) {
                configMaps.put(doc.path("metadata").path("name").asText(), configMapData(doc));
            }
        }
        if (batchNode == null) {
            violations.add(new Violation("kind", "no TaskBatch in the file (found: "
                    + (kinds.isEmpty() ? "nothing" : String.join(", ", kinds)) + "); expected kind: TaskBatch"));
            throw new InvalidManifestException(violations);
        }
        String apiVersion = batchNode.path("apiVersion").asText("");
        if (!apiVersion.equals(TaskBatch.API_VERSION)) {
            violations.add(new Violation("apiVersion", (apiVersion.isEmpty() ? "missing" : "\"" + apiVersion + "\" is not supported")
                    + "; expected " + TaskBatch.API_VERSION));
        }
        TaskBatch batch = bind(batchNode.deepCopy(), violations);
        Manifest manifest = batch == null ? null : new Manifest(batch, configMaps, file);
        if (!violations.isEmpty()) throw new InvalidManifestException(violations, manifest);
        return manifest;
    }

    /**
     * Binds the TaskBatch, collecting every unknown field and wrong type instead of stopping at the
     * first: each problem is recorded, the offending field taken out of the tree, and binding tried
     * again. Returns the batch bound from what was left (for the cross-field checks), or null.
     */
    private static TaskBatch bind(ObjectNode root, List<Violation> violations) {
        for (int attempt = 0; attempt < MAX_PROBLEMS; attempt++) {
            try {
                return MAPPER.treeToValue(root, TaskBatch.class);
            } catch (JsonProcessingException e) {
                violations.add(describe(e, root));
                if (!(e instanceof JsonMappingException m) || !remove(root, m.getPath())) return null;
            } catch (IllegalArgumentException e) {
                violations.add(new Violation("(TaskBatch)", e.getMessage()));
                return null;
            }
        }
        return null;
    }

    /** Takes the node at {@code refs} out of the tree: a field is removed, a list element set to null. */
    private static boolean remove(JsonNode root, List<JsonMappingException.Reference> refs) {
        if (refs.isEmpty()) return false;
        JsonNode parent = nodeAt(root, refs.subList(0, refs.size() - 1));
        JsonMappingException.Reference last = refs.get(refs.size() - 1);
        if (last.getFieldName() != null && parent instanceof ObjectNode o && o.has(last.getFieldName())) {
            o.remove(last.getFieldName());
            return true;
        }
        if (last.getIndex() >= 0 && parent instanceof ArrayNode a && last.getIndex() < a.size()
                && !a.get(last.getIndex()).isNull()) {
            a.set(last.getIndex(), NullNode.getInstance());
            return true;
        }
        return false;
    }

    private static Map<String, String> configMapData(JsonNode doc) {
        Map<String, String> data = new LinkedHashMap<>();
        doc.path("data").fields().forEachRemaining(e -> data.put(e.getKey(), e.getValue().asText()));
        return data;
    }

    private static Violation describe(JsonProcessingException e, JsonNode root) {
        if (!(e instanceof JsonMappingException m)) {
            return new Violation(where(e), originalMessage(e));
        }
        String field = path(m.getPath());
        if (m instanceof UnrecognizedPropertyException u) {
            return new Violation(field, "unknown field \"" + u.getPropertyName() + "\"; known fields here: "
                    + known(u.getKnownPropertyIds()));
        }
        if (m instanceof MismatchedInputException mi && mi.getTargetType() != null) {
            return new Violation(field, "expected " + describeType(mi.getTargetType()) + ", got "
                    + describeValue(nodeAt(root, m.getPath())));
        }
        return new Violation(field, firstLine(originalMessage(e)));
    }

    private static String path(List<JsonMappingException.Reference> refs) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference ref : refs) {
            if (ref.getFieldName() != null) {
                if (!sb.isEmpty()) sb.append('.');
                sb.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            }
        }
        return sb.isEmpty() ? "(TaskBatch)" : sb.toString();
    }

    private static String known(Collection<Object> ids) {
        if (ids == null || ids.isEmpty()) return "none";
        return ids.stream().map(Object::toString).collect(Collectors.toCollection(TreeSet::new)).stream()
                .collect(Collectors.joining(", "));
    }

    static String describeType(Class<?> type) {
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) return "an integer";
        if (type == boolean.class || type == Boolean.class) return "true or false";
        if (type == String.class) return "a string";
        if (List.class.isAssignableFrom(type) || type.isArray()) return "a list";
        if (Map.class.isAssignableFrom(type)) return "a mapping of names to values";
        if (type.getSimpleName().equals("IntOrString")) return "an integer or a string";
        return "a mapping (an object with fields)";
    }

    private static JsonNode nodeAt(JsonNode root, List<JsonMappingException.Reference> refs) {
        JsonNode node = root;
        for (JsonMappingException.Reference ref : refs) {
            node = ref.getFieldName() != null ? node.path(ref.getFieldName()) : node.path(ref.getIndex());
        }
        return node;
    }

    private static String describeValue(JsonNode node) {
        if (node.isTextual()) return "\"" + node.asText() + "\"";
        if (node.isNumber() || node.isBoolean()) return node.asText();
        if (node.isArray()) return "a list";
        if (node.isObject()) return "a mapping";
        return node.isNull() ? "null" : "something else";
    }

    private static String where(JsonProcessingException e) {
        JsonLocation loc = e.getLocation();
        return loc == null || loc.getLineNr() < 0 ? "(file)" : "line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }

    private static String where(IOException e) {
        return e instanceof JsonProcessingException j ? where(j) : "(file)";
    }

    private static String originalMessage(IOException e) {
        String message = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        return message == null ? e.getClass().getSimpleName() : message.strip();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
