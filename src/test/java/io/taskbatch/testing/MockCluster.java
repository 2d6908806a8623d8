package io.taskbatch.testing;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.taskbatch.api.TaskBatch;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fabric8 mock API server as our operator tests use it: the committed CRD created in it (the
 * status subresource works only then), the operator started once, and one namespace per test.
 */
public final class MockCluster {
    public static final Path CRD = Path.of("k8s/crd/taskbatches.taskbatch.io-v1.yml");
    private static final AtomicInteger NAMESPACES = new AtomicInteger();
    private static volatile boolean started;

    private MockCluster() {
    }

    public static synchronized void start(KubernetesClient client, Operator operator) {
        if (started) return;
        client.apiextensions().v1().customResourceDefinitions().load(CRD.toFile()).createOr(r -> r.update());
        operator.start();
        started = true;
    }

    /** A fresh namespace, so tests do not see each other's batches. */
    public static String namespace(KubernetesClient client, String prefix) {
        String name = prefix + "-" + NAMESPACES.incrementAndGet();
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
        return name;
    }

    public static Secret brokerSecret(KubernetesClient client, String namespace, String name, String uri) {
        return client.secrets().inNamespace(namespace).resource(new SecretBuilder()
                .withNewMetadata().withName(name).withNamespace(namespace).endMetadata()
                .addToData("uri", Base64.getEncoder().encodeToString(uri.getBytes(StandardCharsets.UTF_8)))
                .build()).create();
    }

    /** A TaskBatch from YAML, as {@code kubectl apply} would send it. */
    public static TaskBatch create(KubernetesClient client, String namespace, String yaml) {
        TaskBatch batch = client.getKubernetesSerialization().unmarshal(yaml, TaskBatch.class);
        batch.getMetadata().setNamespace(namespace);
        return client.resource(batch).create();
    }

    /**
     * {@code kubectl patch tb NAME --type merge -p '{"spec":{"suspend":...}}'}: no resourceVersion, so it never
     * conflicts with the status the operator and the master patch meanwhile (a read-modify-write could).
     */
    public static void suspend(KubernetesClient client, String namespace, String name, boolean suspend) {
        client.resources(io.taskbatch.api.TaskBatch.class).inNamespace(namespace).withName(name).patch(
                io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
                "{\"spec\":{\"suspend\":" + suspend + "}}");
    }
}
