package io.taskbatch.it;

import static io.taskbatch.it.JarProcesses.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.testing.ApiServer;
import io.taskbatch.testing.ApiServerResource;
import io.taskbatch.testing.MockCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two replicas of the packaged operator, as the Deployment runs them, against one RBAC-enforcing API server: exactly
 * one holds the Lease and reconciles; SIGKILLed, the other takes the Lease over within the lease duration and goes on
 * (a suspend of the batch the first one started, a batch created after the kill), and nothing is done twice; a
 * leader that cannot renew exits. The
 * lease timings are short here through the operator's own settings; no kubelet and no broker are needed, since what
 * is checked is the operator's writes (the master Job's status is written as a kubelet would).
 */
class OperatorHaIT {
    static final String SYSTEM = ApiServerResource.OPERATOR_NAMESPACE;
    static final String OPERATOR = ApiServerResource.OPERATOR_ACCOUNT;
    static final String OPERATOR_USER = "system:serviceaccount:" + SYSTEM + ":" + OPERATOR;
    static final String NS = "ha";
    static final Duration LEASE = Duration.ofSeconds(4);
    static final Duration RENEW_DEADLINE = Duration.ofSeconds(3);
    static final Duration RETRY = Duration.ofMillis(500);

    @TempDir
    Path dir;

    @Test
    void aStandbyTakesOverWithinTheLeaseWhenTheLeaderIsKilledAndNothingIsDoneTwice() throws Exception {
        try (ApiServer api = ApiServer.start(); JarProcesses jar = new JarProcesses(dir, "amqp://127.0.0.1:1")) {
            KubernetesClient admin = api.adminClient();
            admin.apiextensions().v1().customResourceDefinitions().load(MockCluster.CRD.toFile()).create();
            for (HasMetadata o : ApiServerResource.operatorManifests(admin)) admin.resource(o).create();
            admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
            MockCluster.brokerSecret(admin, NS, "taskbatch-broker", "amqp://127.0.0.1:1");

            Map<String, Process> replicas = new HashMap<>();
            for (String pod : List.of("operator-a", "operator-b")) replicas.put(pod, jar.start(pod, env(api, pod), "operator"));
            await(Duration.ofSeconds(120), "both replicas run and one holds the Lease", () ->
                    replicas.keySet().stream().allMatch(pod -> log(jar, pod).contains("taskbatch operator started"))
                            && holder(admin).isPresent());
            String leader = holder(admin).orElseThrow();
            assertThat(replicas).containsKey(leader);
            String standby = leader.equals("operator-a") ? "operator-b" : "operator-a";
            assertThat(log(jar, leader)).contains("leader election: Lease " + SYSTEM + "/" + OPERATOR + " as " + leader);

            // the leader reconciles a batch: its Jobs, once; the master pod starts (as the kubelet would write it)
            create(admin, "first");
            await(Duration.ofSeconds(30), "the first batch's Jobs exist", () -> job(admin, "first-master") != null
                    && job(admin, "first-workers") != null);
            masterStarted(admin, "first");
            await(Duration.ofSeconds(30), "the first batch runs", () -> "Running".equals(phase(admin, "first")));
            assertThat(log(jar, leader)).contains("leading: this replica (" + leader + ")");
            assertThat(log(jar, standby)).as("the standby never led").doesNotContain("leading: this replica");
            assertThat(holder(admin)).contains(leader);

            // the leader dies mid-batch; meanwhile the batch is suspended and another one comes
            replicas.get(leader).destroyForcibly(); // SIGKILL: no goodbye, the Lease is left to expire
            long killed = System.nanoTime();
            replicas.get(leader).waitFor();
            MockCluster.suspend(admin, NS, "first", true);
            create(admin, "second");
            await(LEASE.multipliedBy(4), "the standby holds the Lease", () -> holder(admin).filter(standby::equals).isPresent());
            Duration takeover = Duration.ofNanos(System.nanoTime() - killed);
            await(Duration.ofSeconds(30), "the new leader suspends the first batch and creates the second's Jobs", () ->
                    "Suspended".equals(phase(admin, "first")) && job(admin, "second-master") != null
                            && job(admin, "second-workers") != null);
            Duration reconciled = Duration.ofNanos(System.nanoTime() - killed);
            masterStarted(admin, "second");
            await(Duration.ofSeconds(30), "the second batch runs", () -> "Running".equals(phase(admin, "second")));
            System.out.printf("OperatorHaIT: lease %s, retry %s: the standby held the Lease %d ms after the leader's SIGKILL, "
                    + "had reconciled both batches %d ms after it%n", LEASE, RETRY, takeover.toMillis(), reconciled.toMillis());
            assertThat(takeover).as("taken over within the lease duration (and a retry) of the last renewal")
                    .isLessThan(LEASE.plus(RETRY.multipliedBy(3)).plusSeconds(1));
            assertThat(log(jar, standby)).contains("leading: this replica (" + standby + ")");
            assertThat(admin.resources(Lease.class).inNamespace(SYSTEM).withName(OPERATOR).get().getSpec().getLeaseTransitions())
                    .as("one change of holder").isEqualTo(1);

            // nothing twice: every object of a batch created once, no create conflicted, no request refused
            for (String resource : List.of("jobs", "serviceaccounts", "roles", "rolebindings", "configmaps")) {
                assertThat(api.audit(e -> e.username().equals(OPERATOR_USER) && e.verb().equals("create")
                        && e.resource().equals(resource) && NS.equals(e.namespace())))
                        .as("%s created", resource).allSatisfy(e -> assertThat(e.code()).as(e.toString()).isEqualTo(201))
                        .hasSize(resource.equals("jobs") ? 4 : 2);
            }
            assertThat(api.audit(e -> e.username().equals(OPERATOR_USER) && (e.code() == 403 || e.code() == 409)
                    && !e.resource().equals("leases"))).as("refused or conflicting requests").isEmpty();
            assertThat(job(admin, "first-workers").getSpec().getSuspend()).as("the first batch's workers suspended").isTrue();
            assertThat(job(admin, "second-workers").getSpec().getSuspend()).isNotEqualTo(Boolean.TRUE);

            // one event per transition, whoever led
            assertThat(events(admin, "first")).containsExactlyInAnyOrder("Started", "Suspended");
            assertThat(events(admin, "second")).containsExactly("Started");

            // the status: what the new leader saw, for the generation it saw
            TaskBatch first = batch(admin, "first");
            assertThat(first.getStatus().getObservedGeneration()).isEqualTo(first.getMetadata().getGeneration());
            assertThat(condition(first, "Suspended")).isEqualTo("True");
            assertThat(condition(first, "Running")).isEqualTo("False");
            assertThat(condition(first, "Reconciled")).isEqualTo("True");
            TaskBatch second = batch(admin, "second");
            assertThat(second.getStatus().getObservedGeneration()).isEqualTo(second.getMetadata().getGeneration());
            assertThat(condition(second, "Running")).isEqualTo("True");

            // a leader that can no longer renew (its patch on the Lease taken away) gives up within the renew
            // deadline and exits, rather than go on reconciling beside a leader it cannot see
            admin.rbac().roles().inNamespace(SYSTEM).withName(OPERATOR).edit(r -> {
                r.getRules().get(0).getVerbs().remove("patch");
                return r;
            });
            Process newLeader = replicas.get(standby);
            assertThat(newLeader.waitFor(RENEW_DEADLINE.plusSeconds(30).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
                    .as("the leader exits once it cannot renew").isTrue();
            assertThat(newLeader.exitValue()).as(log(jar, standby)).isEqualTo(3);
            assertThat(log(jar, standby)).contains("lost Lease " + OPERATOR + " (not renewed within");
        }
    }

    /** A replica's environment, as the Deployment gives it (downward API), with short lease timings. */
    static Map<String, String> env(ApiServer api, String pod) {
        Map<String, String> env = new HashMap<>();
        env.put("QUARKUS_KUBERNETES_CLIENT_API_SERVER_URL", api.url());
        env.put("QUARKUS_KUBERNETES_CLIENT_TOKEN", api.token(SYSTEM, OPERATOR));
        env.put("QUARKUS_KUBERNETES_CLIENT_TRUST_CERTS", "true");
        env.put("KUBERNETES_AUTH_TRYKUBECONFIG", "false");
        env.put("KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
        env.put("POD_NAMESPACE", SYSTEM);
        env.put("POD_NAME", pod);
        env.put("TASKBATCH_OPERATOR_LEADER_ELECTION_LEASE_DURATION", LEASE.toMillis() + "ms");
        env.put("TASKBATCH_OPERATOR_LEADER_ELECTION_RENEW_DEADLINE", RENEW_DEADLINE.toMillis() + "ms");
        env.put("TASKBATCH_OPERATOR_LEADER_ELECTION_RETRY_PERIOD", RETRY.toMillis() + "ms");
        return env;
    }

    static String log(JarProcesses jar, String pod) {
        try {
            return jar.log(pod);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    static Optional<String> holder(KubernetesClient admin) {
        Lease lease = admin.resources(Lease.class).inNamespace(SYSTEM).withName(OPERATOR).get();
        return Optional.ofNullable(lease).map(l -> l.getSpec().getHolderIdentity()).filter(h -> !h.isEmpty());
    }

    static void create(KubernetesClient admin, String name) {
        MockCluster.create(admin, NS, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: %s
                spec:
                  tasks:
                    range: {from: 1, to: 100}
                  run:
                    builtin: square
                  workers: {replicas: 1, cpu: "1"}
                """.formatted(name));
    }

    static Job job(KubernetesClient admin, String name) {
        return admin.batch().v1().jobs().inNamespace(NS).withName(name).get();
    }

    /** The master's pod runs: its Job's status as the kubelet stand-in writes it. */
    static void masterStarted(KubernetesClient admin, String batch) {
        String status = admin.getKubernetesSerialization().asJson(new JobStatusBuilder().withActive(1).withReady(1).build());
        admin.batch().v1().jobs().inNamespace(NS).withName(batch + "-master").subresource("status")
                .patch(PatchContext.of(PatchType.JSON), "[{\"op\":\"add\",\"path\":\"/status\",\"value\":" + status + "}]");
    }

    static TaskBatch batch(KubernetesClient admin, String name) {
        return admin.resources(TaskBatch.class).inNamespace(NS).withName(name).get();
    }

    static String phase(KubernetesClient admin, String name) {
        TaskBatch b = batch(admin, name);
        return b == null || b.getStatus() == null ? null : b.getStatus().getPhase();
    }

    static String condition(TaskBatch b, String type) {
        return b.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).map(Condition::getStatus)
                .findFirst().orElse(null);
    }

    static List<String> events(KubernetesClient admin, String batch) {
        return admin.v1().events().inNamespace(NS).list().getItems().stream()
                .filter(e -> batch.equals(e.getInvolvedObject().getName()))
                .map(e -> e.getReason()).toList();
    }
}
