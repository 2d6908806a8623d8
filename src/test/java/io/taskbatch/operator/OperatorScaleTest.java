package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.taskbatch.testing.ApiServer;
import io.taskbatch.testing.ApiServerResource;
import io.taskbatch.testing.InjectApiServer;
import io.taskbatch.testing.MockCluster;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Map;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * Many batches cost the operator no thread and no informer each: its informers watch all batches (and all the objects
 * it owns) at once, and its reconciliations share bounded pools. Run against the RBAC-enforcing API server, which
 * records every watch the operator opens.
 */
@QuarkusTest
@TestProfile(OperatorScaleTest.ProductionResync.class)
@QuarkusTestResource(value = ApiServerResource.class, restrictToAnnotatedClass = true)
class OperatorScaleTest {
    static final String OPERATOR_USER = "system:serviceaccount:" + ApiServerResource.OPERATOR_NAMESPACE + ":"
            + ApiServerResource.OPERATOR_ACCOUNT;
    static final int FIRST = 10;
    static final int MORE = 80;

    /**
     * A running batch is looked at again every 30 s, as in production (the test profile's 2 s would be 45 a second
     * here). Its own profile also gives this class an application of its own, next to TaskBatchReconcilerTest's.
     */
    public static class ProductionResync implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("taskbatch.operator.resync-interval", "30s");
        }
    }

    @InjectApiServer
    ApiServer apiServer;

    @Inject
    Operator operator;

    @Inject
    MeterRegistry registry;

    @ConfigProperty(name = "quarkus.operator-sdk.concurrent-reconciliation-threads")
    int reconcileThreads;

    @ConfigProperty(name = "quarkus.operator-sdk.concurrent-workflow-threads")
    int workflowThreads;

    static String batch(String name) {
        return """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: %s
                spec:
                  tasks: {range: {from: 1, to: 1000}}
                  run: {builtin: square}
                  workers: {replicas: 2}
                """.formatted(name);
    }

    void createAndAwaitJobs(KubernetesClient client, String ns, int from, int to) {
        for (int i = from; i < to; i++) MockCluster.create(client, ns, batch("b" + i));
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200))
                .until(() -> client.batch().v1().jobs().inNamespace(ns).list().getItems().size() == 2 * to);
    }

    @Test
    void manyBatchesAddNoThreadNoInformerNoWatchAndNoSdkMeters() {
        KubernetesClient client = apiServer.adminClient();
        MockCluster.start(client, operator);
        String ns = MockCluster.namespace(client, "scale");
        MockCluster.brokerSecret(client, ns, "taskbatch-broker", "amqp://scale:scale@localhost:5672");

        createAndAwaitJobs(client, ns, 0, FIRST);
        OperatorFootprint before = OperatorFootprint.of(operator, apiServer, OPERATOR_USER);
        int metersBefore = registry.getMeters().size();
        createAndAwaitJobs(client, ns, FIRST, FIRST + MORE);
        OperatorFootprint after = OperatorFootprint.of(operator, apiServer, OPERATOR_USER);
        int metersAfter = registry.getMeters().size();

        System.out.printf("operator with %d and %d batches: %d and %d threads (grown: %s), %d and %d informers, %d and %d watches, %d and %d meters%n",
                FIRST, FIRST + MORE, before.threads(), after.threads(), before.grownIn(after), before.informers(),
                after.informers(), before.watches().size(), after.watches().size(), metersBefore, metersAfter);
        assertThat(before.informers()).as("informers with %d batches", FIRST).isPositive();
        assertThat(after.informers()).as("informers with %d batches against %d", FIRST + MORE, FIRST)
                .isEqualTo(before.informers());
        assertThat(before.watches()).as("the operator's watches").isNotEmpty();
        assertThat(after.watches()).as("watches opened while %d more batches were reconciled", MORE)
                .isEqualTo(before.watches());
        // the reconciliation pools start their threads on demand, up to their bounds: nothing else may grow
        assertThat(after.threads() - before.threads())
                .as("threads added by %d more batches (pools grown: %s)", MORE, before.grownIn(after))
                .isLessThanOrEqualTo(reconcileThreads + workflowThreads + 4)
                .isLessThan(MORE / 2);
        // per batch only taskbatch_operator_reconciles_total{result=ok|error}; JOSDK's meters are per controller
        assertThat(metersAfter - metersBefore).as("meters added by %d more batches", MORE).isLessThanOrEqualTo(2 * MORE);
    }
}
