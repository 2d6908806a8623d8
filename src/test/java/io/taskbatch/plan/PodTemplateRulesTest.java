package io.taskbatch.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What a pod template may set and what it may not: each refusal names the field and what to do instead. */
class PodTemplateRulesTest {
    static final Set<String> BUILTINS = Set.of("square", "echo");

    static String batch(String workers, String master) {
        return """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata: {name: t}
                spec:
                  tasks: {range: {from: 1, to: 3}}
                  run: {command: ["sh", "-c", "echo $TASK_INPUT"]}
                  workers:
                    cpu: "1"
                %s
                %s
                """.formatted(indent(workers, 4), master == null ? "" : indent("master:\n" + master, 2));
    }

    static String indent(String text, int n) {
        return text == null ? "" : text.indent(n).stripTrailing();
    }

    static List<Violation> violations(String yaml) throws InvalidManifestException {
        try {
            SpecValidator.validate(ManifestLoader.parse(yaml, Path.of("t.yaml")).batch(), BUILTINS);
            return List.of();
        } catch (InvalidManifestException e) {
            return e.violations();
        }
    }

    static final String RICH = """
            template:
              metadata:
                labels: {team: reports}
                annotations: {example.com/owner: reports}
              spec:
                priorityClassName: batch-low
                serviceAccountName: reports
                imagePullSecrets: [{name: registry}]
                nodeSelector: {disk: ssd}
                tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
                affinity:
                  nodeAffinity:
                    requiredDuringSchedulingIgnoredDuringExecution:
                      nodeSelectorTerms: [{matchExpressions: [{key: gpu, operator: In, values: [a100]}]}]
                securityContext: {fsGroup: 2000, runAsUser: 2000}
                volumes:
                  - {name: scratch, emptyDir: {}}
                  - {name: creds, secret: {secretName: db}}
                initContainers:
                  - {name: fetch, image: busybox, command: [sh, -c, "true"]}
                containers:
                  - name: worker
                    imagePullPolicy: Always
                    env:
                      - {name: REGION, value: eu}
                      - name: DB_PASSWORD
                        valueFrom: {secretKeyRef: {name: db, key: password}}
                    envFrom: [{configMapRef: {name: settings}}]
                    volumeMounts: [{name: scratch, mountPath: /scratch}, {name: creds, mountPath: /etc/creds, readOnly: true}]
                    resources:
                      limits: {cpu: "2", nvidia.com/gpu: 1, ephemeral-storage: 1Gi}
                      requests: {nvidia.com/gpu: 1, ephemeral-storage: 1Gi}
                    securityContext: {capabilities: {drop: [NET_RAW]}}
                  - {name: proxy, image: envoyproxy/envoy:v1.31, securityContext: {readOnlyRootFilesystem: false}}
            """;

    @Test
    void aTemplateWithWhatTheIssueAsksForIsValid() throws Exception {
        assertThat(violations(batch(RICH, null))).isEmpty();
        assertThat(violations(batch("env: {LOG_LEVEL: debug}\nimage: example/task:1\nnodeSelector: {disk: ssd}\n" + RICH
                .replace("imagePullPolicy: Always", "image: example/task:1"), null))).isEmpty();
    }

    @Test
    void aCommandInTheTemplateIsRefusedNamingTheFieldAndWhereItBelongs() {
        assertThatThrownBy(() -> SpecValidator.validate(ManifestLoader.parse(batch("""
                template:
                  spec:
                    containers: [{name: worker, command: [python3, task.py]}]
                """, null), Path.of("t.yaml")).batch(), BUILTINS))
                .isInstanceOf(InvalidManifestException.class)
                .satisfies(e -> assertThat(((InvalidManifestException) e).violations()).extracting(Violation::toString)
                        .containsExactly("spec.workers.template.spec.containers[worker].command: is set by the operator; "
                                + "put the command in spec.run.command (or spec.run.processPool.command)"));
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                Arguments.of("containers: [{name: worker, args: [--fast]}]", "spec.workers.template.spec.containers[worker].args"),
                Arguments.of("containers: [{name: worker, readinessProbe: {exec: {command: ['true']}}}]",
                        "spec.workers.template.spec.containers[worker].readinessProbe"),
                Arguments.of("containers: [{name: worker, ports: [{containerPort: 9000}]}]",
                        "spec.workers.template.spec.containers[worker].ports"),
                Arguments.of("restartPolicy: Never", "spec.workers.template.spec.restartPolicy"),
                Arguments.of("terminationGracePeriodSeconds: 1", "spec.workers.template.spec.terminationGracePeriodSeconds"),
                Arguments.of("automountServiceAccountToken: true", "spec.workers.template.spec.automountServiceAccountToken"),
                Arguments.of("nodeName: n1", "spec.workers.template.spec.nodeName"),
                Arguments.of("containers: [{name: worker, env: [{name: TASKBATCH_BROKER_URI, value: 'amqp://x'}]}]",
                        "spec.workers.template.spec.containers[worker].env[TASKBATCH_BROKER_URI]: is set by the operator"),
                Arguments.of("containers: [{name: worker, env: [{name: TASKBATCH_MANIFEST, value: '{}'}]}]",
                        "spec.workers.template.spec.containers[worker].env[TASKBATCH_MANIFEST]"),
                Arguments.of("volumes: [{name: tmp, emptyDir: {}}]", "spec.workers.template.spec.volumes[tmp]: the name is the operator's"),
                Arguments.of("volumes: [{name: root, hostPath: {path: /}}]", "spec.workers.template.spec.volumes[root].hostPath"),
                Arguments.of("volumes: [{name: x, emptyDir: {}}]\ncontainers: [{name: worker, volumeMounts: [{name: x, mountPath: /tmp}]}]",
                        "spec.workers.template.spec.containers[worker].volumeMounts[x].mountPath"),
                Arguments.of("containers: [{name: worker, resources: {requests: {cpu: '4'}}}]",
                        "spec.workers.template.spec.containers[worker].resources.requests[cpu]: is set from spec.workers.cpu"),
                Arguments.of("containers: [{name: worker, resources: {limits: {memory: 1Gi}}}]",
                        "spec.workers.template.spec.containers[worker].resources.limits[memory]: is set from spec.workers.memory"),
                Arguments.of("containers: [{name: worker, resources: {limits: {cpu: 500m}}}]",
                        "spec.workers.template.spec.containers[worker].resources.limits[cpu]: 500m is less than spec.workers.cpu 1"),
                Arguments.of("containers: [{name: worker, resources: {requests: {nvidia.com/gpu: 1}}}]",
                        "spec.workers.template.spec.containers[worker].resources.limits[nvidia.com/gpu]: required"),
                Arguments.of("containers: [{name: worker, resources: {requests: {nvidia.com/gpu: 1}, limits: {nvidia.com/gpu: 2}}}]",
                        "spec.workers.template.spec.containers[worker].resources.requests[nvidia.com/gpu]: 1 must equal the limit 2"),
                Arguments.of("containers: [{name: worker, securityContext: {privileged: true}}]",
                        "spec.workers.template.spec.containers[worker].securityContext.privileged: would loosen"),
                Arguments.of("containers: [{name: worker, securityContext: {allowPrivilegeEscalation: true}}]",
                        "spec.workers.template.spec.containers[worker].securityContext.allowPrivilegeEscalation"),
                Arguments.of("containers: [{name: worker, securityContext: {readOnlyRootFilesystem: false}}]",
                        "spec.workers.template.spec.containers[worker].securityContext.readOnlyRootFilesystem"),
                Arguments.of("containers: [{name: worker, securityContext: {capabilities: {add: [SYS_ADMIN]}}}]",
                        "spec.workers.template.spec.containers[worker].securityContext.capabilities.add[SYS_ADMIN]"),
                Arguments.of("containers: [{name: side, image: x, securityContext: {runAsUser: 0}}]",
                        "spec.workers.template.spec.containers[side].securityContext.runAsUser: would loosen"),
                Arguments.of("securityContext: {runAsNonRoot: false}", "spec.workers.template.spec.securityContext.runAsNonRoot"),
                Arguments.of("hostNetwork: true", "spec.workers.template.spec.hostNetwork"),
                Arguments.of("containers: [{name: side}]", "spec.workers.template.spec.containers[side].image: required"),
                Arguments.of("containers: [{name: worker}, {name: worker}]", "spec.workers.template.spec.containers[worker].name: a second"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("refused")
    void whatTheOperatorOwnsIsRefusedNamingTheField(String templateSpec, String expected) throws Exception {
        List<Violation> v = violations(batch("template:\n  spec:\n" + templateSpec.indent(4), null));
        assertThat(v).extracting(Violation::toString).anySatisfy(m -> assertThat(m).startsWith(expected));
    }

    @Test
    void aMisspelledFieldInTheTemplateIsRefusedAsTheApiServerWould() throws Exception {
        assertThat(violations(batch("""
                template:
                  spec:
                    containers: [{name: worker, volumeMount: [{name: x, mountPath: /x}]}]
                    nodeSelecter: {disk: ssd}
                """, null))).extracting(Violation::toString).containsExactlyInAnyOrder(
                "spec.workers.template.spec.containers[0].volumeMount: unknown field \"volumeMount\" (kubectl explain pod.spec "
                        + "lists the fields of a pod template)",
                "spec.workers.template.spec.nodeSelecter: unknown field \"nodeSelecter\" (kubectl explain pod.spec lists the "
                        + "fields of a pod template)");
    }

    @Test
    void ourLabelsAndTheJobControllersAreRefused() throws Exception {
        assertThat(violations(batch("template: {metadata: {labels: {app.kubernetes.io/name: x, batch.kubernetes.io/job-name: y, "
                + "team: ok}}}", null))).extracting(Violation::field).containsExactlyInAnyOrder(
                "spec.workers.template.metadata.labels[app.kubernetes.io/name]",
                "spec.workers.template.metadata.labels[batch.kubernetes.io/job-name]");
    }

    @Test
    void aFieldSetBothBesideAndInTheTemplateDifferentlyIsRefused() throws Exception {
        assertThat(violations(batch("""
                env: {REGION: eu}
                image: a/b:1
                serviceAccountName: one
                nodeSelector: {disk: ssd}
                template:
                  spec:
                    serviceAccountName: two
                    nodeSelector: {disk: hdd}
                    containers: [{name: worker, image: a/b:2, env: [{name: REGION, value: us}]}]
                """, null))).extracting(Violation::field).containsExactlyInAnyOrder(
                "spec.workers.template.spec.serviceAccountName", "spec.workers.template.spec.nodeSelector[disk]",
                "spec.workers.template.spec.containers[worker].image",
                "spec.workers.template.spec.containers[worker].env[REGION]");
    }

    @Test
    void aReservedNameInSpecWorkersEnvIsRefusedToo() throws Exception {
        assertThat(violations(batch("env: {TASKBATCH_BROKER_URI: 'amqp://guest:guest@x'}", null)))
                .extracting(Violation::toString).containsExactly("spec.workers.env.TASKBATCH_BROKER_URI: is set by the operator; "
                        + "choose another name");
    }

    @Test
    void theMastersTemplateFollowsTheSameRulesAndKeepsItsServiceAccount() throws Exception {
        assertThat(violations(batch(null, """
                  cpu: 500m
                  memory: 1Gi
                  nodeSelector: {pool: system}
                  priorityClassName: high
                  tolerations: [{key: dedicated, operator: Equal, value: system, effect: NoSchedule}]
                  template:
                    metadata: {annotations: {a: b}}
                    spec:
                      containers: [{name: master, env: [{name: JAVA_TOOL_OPTIONS, value: -Xmx400m}]}]
                """))).isEmpty();
        assertThat(violations(batch(null, """
                  priorityClassName: high
                  template:
                    spec:
                      serviceAccountName: mine
                      priorityClassName: low
                      containers: [{name: master, command: [java], resources: {requests: {memory: 1Gi}}}]
                """))).extracting(Violation::toString).containsExactlyInAnyOrder(
                "spec.master.template.spec.serviceAccountName: is set by the operator: the master runs as its own "
                        + "ServiceAccount, bound to the Role it needs",
                "spec.master.template.spec.containers[master].command: is set by the operator; the master runs the operator's own program",
                "spec.master.template.spec.containers[master].resources.requests[memory]: is set from spec.master.memory; set it there",
                "spec.master.template.spec.priorityClassName: differs from spec.master.priorityClassName; set it in one place");
    }

    @Test
    void extendedResourcesAreTheOnesOutsideKubernetesOwnNames() {
        assertThat(PodTemplateRules.extended("nvidia.com/gpu")).isTrue();
        assertThat(PodTemplateRules.extended("example.com/fpga")).isTrue();
        assertThat(PodTemplateRules.extended("cpu")).isFalse();
        assertThat(PodTemplateRules.extended("hugepages-2Mi")).isFalse();
        assertThat(PodTemplateRules.extended("kubernetes.io/something")).isFalse();
    }
}
