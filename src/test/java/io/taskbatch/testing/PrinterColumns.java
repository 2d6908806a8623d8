package io.taskbatch.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@code kubectl get tb} prints for a batch: each additionalPrinterColumn of the committed CRD,
 * its simple JSONPath ({@code .status.done}) read from the object. A missing field prints as
 * {@code <none>}, as kubectl does.
 */
public final class PrinterColumns {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final KubernetesSerialization KUBE = new KubernetesSerialization();

    private PrinterColumns() {
    }

    /** Column name to printed value, in the CRD's order. */
    public static Map<String, String> of(HasMetadata object) {
        JsonNode crd;
        try {
            crd = YAML.readTree(MockCluster.CRD.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        JsonNode json = KUBE.convertValue(object, JsonNode.class);
        Map<String, String> row = new LinkedHashMap<>();
        for (JsonNode column : crd.path("spec").path("versions").get(0).path("additionalPrinterColumns")) {
            JsonNode value = json;
            for (String step : column.path("jsonPath").asText().substring(1).split("\\.")) value = value.path(step);
            row.put(column.path("name").asText(), value.isMissingNode() || value.isNull() ? "<none>" : value.asText());
        }
        return row;
    }
}
