package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.packaging.PodSecurity;
import io.taskbatch.plan.ManifestLoader;
import io.taskbatch.plan.PodTemplateRules;
import io.taskbatch.plan.SpecValidator;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The rules of the README's "Worker pod template", on the pods the operator builds. */
class PodTemplateMergeTest {
    static TaskBatch batch(String workersAndMaster) throws Exception {
        TaskBatch batch = ManifestLoader.parse("""
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata: {name: t}
                spec:
                  tasks: {range: {from: 1, to: 3}}
                  run: {command: ["sh", "-c", "echo $TASK_INPUT"]}
                %s
                """.formatted(workersAndMaster.indent(2)), Path.of("t.yaml")).batch();
        batch.getMetadata().setNamespace("default");
        batch.getMetadata().setUid("3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b");
        SpecValidator.validate(batch, Set.of("square"));
        return batch;
    }

    static PodTemplateSpec worker(TaskBatch batch) {
        return new WorkerJobDependent(PodTemplatesTest.DEFAULTS).build(batch, null).getSpec().getTemplate();
    }

    static PodTemplateSpec master(TaskBatch batch) {
        return new MasterJobDependent(PodTemplatesTest.DEFAULTS).build(batch, null).getSpec().getTemplate();
    }

    static final String RICH = """
            workers:
              cpu: "1"
              memory: 1Gi
              env: {LOG_LEVEL: debug}
              nodeSelector: {pool: batch}
              tolerations: [{key: spot, operator: Exists, effect: NoSchedule}]
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
                  volumes: [{name: scratch, emptyDir: {}}]
                  initContainers: [{name: fetch, image: busybox, command: [sh, -c, "true"]}]
                  containers:
                    - name: worker
                      imagePullPolicy: Always
                      env:
                        - {name: REGION, value: eu}
                        - name: DB_PASSWORD
                          valueFrom: {secretKeyRef: {name: db, key: password}}
                      envFrom: [{configMapRef: {name: settings}}]
                      volumeMounts: [{name: scratch, mountPath: /scratch}]
                      resources:
                        limits: {cpu: "2", nvidia.com/gpu: 1}
                      securityContext: {capabilities: {drop: [NET_RAW]}}
                    - {name: proxy, image: envoyproxy/envoy:v1.31}
            """;

    @Test
    void aRichTemplateIsMergedWithWhatTheOperatorOwns() throws Exception {
        TaskBatch batch = batch(RICH);
        PodTemplateSpec plain = worker(batch(RICH.substring(0, RICH.indexOf("  template:"))));
        PodTemplateSpec merged = worker(batch);
        PodSpec pod = merged.getSpec();

        assertThat(merged.getMetadata().getLabels()).containsEntry("team", "reports")
                .containsAllEntriesOf(plain.getMetadata().getLabels());
        assertThat(merged.getMetadata().getAnnotations()).containsEntry("example.com/owner", "reports");
        // the pod's own fields: the operator's where it owns them, the template's and the role's fields together else
        assertThat(pod.getRestartPolicy()).isEqualTo("OnFailure");
        assertThat(pod.getAutomountServiceAccountToken()).isFalse();
        assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(plain.getSpec().getTerminationGracePeriodSeconds());
        assertThat(pod.getServiceAccountName()).isEqualTo("reports");
        assertThat(pod.getPriorityClassName()).isEqualTo("batch-low");
        assertThat(pod.getImagePullSecrets()).extracting(r -> r.getName()).containsExactly("registry");
        assertThat(pod.getNodeSelector()).isEqualTo(Map.of("pool", "batch", "disk", "ssd"));
        assertThat(pod.getTolerations()).extracting(t -> t.getKey()).containsExactly("spot", "nvidia.com/gpu");
        assertThat(pod.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution().getNodeSelectorTerms()
                .get(0).getMatchExpressions().get(0).getValues()).containsExactly("a100");
        assertThat(pod.getSecurityContext().getFsGroup()).isEqualTo(2000L);
        assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(2000L);
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).as("the restricted defaults stay").isTrue();
        assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        assertThat(pod.getVolumes()).extracting(Volume::getName)
                .containsExactlyElementsOf(concat(plain.getSpec().getVolumes().stream().map(Volume::getName).toList(), "scratch"));

        // the task container: first, the operator's program and plumbing, then the template's additions
        assertThat(pod.getContainers()).extracting(Container::getName).containsExactly("worker", "proxy");
        Container ours = plain.getSpec().getContainers().get(0);
        Container worker = pod.getContainers().get(0);
        assertThat(worker.getArgs()).isEqualTo(ours.getArgs());
        assertThat(worker.getCommand()).isEmpty();
        assertThat(worker.getImage()).isEqualTo(ours.getImage());
        assertThat(worker.getImagePullPolicy()).isEqualTo("Always");
        assertThat(worker.getReadinessProbe()).isEqualTo(ours.getReadinessProbe());
        assertThat(worker.getPorts()).isEqualTo(ours.getPorts());
        assertThat(worker.getEnv()).extracting(EnvVar::getName).containsExactlyElementsOf(
                concat(ours.getEnv().stream().map(EnvVar::getName).toList(), "REGION", "DB_PASSWORD"));
        assertThat(ours.getEnv()).extracting(EnvVar::getName).contains("LOG_LEVEL");
        assertThat(worker.getEnv().get(worker.getEnv().size() - 1).getValueFrom().getSecretKeyRef().getName()).isEqualTo("db");
        assertThat(worker.getEnvFrom()).singleElement().satisfies(e -> assertThat(e.getConfigMapRef().getName()).isEqualTo("settings"));
        assertThat(worker.getVolumeMounts()).extracting(VolumeMount::getMountPath).containsExactlyElementsOf(
                concat(ours.getVolumeMounts().stream().map(VolumeMount::getMountPath).toList(), "/scratch"));
        // resources: cpu and memory from spec.workers, the rest from the template, requests defaulted from limits
        assertThat(worker.getResources().getRequests()).containsEntry("cpu", new Quantity("1"))
                .containsEntry("memory", new Quantity("1Gi")).containsEntry("nvidia.com/gpu", new Quantity("1"));
        assertThat(worker.getResources().getLimits()).containsEntry("cpu", new Quantity("2"))
                .containsEntry("memory", new Quantity("1Gi")).containsEntry("nvidia.com/gpu", new Quantity("1"));
        assertThat(worker.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL", "NET_RAW");
        assertThat(worker.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(worker.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();

        // sidecar and init container: as given, with the restricted defaults they did not set
        assertThat(List.of(pod.getContainers().get(1), pod.getInitContainers().get(0))).allSatisfy(c -> {
            assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
            assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
            assertThat(c.getSecurityContext().getRunAsNonRoot()).isTrue();
        });
        assertThat(pod.getContainers().get(1).getImage()).isEqualTo("envoyproxy/envoy:v1.31");
        assertThat(PodSecurity.restrictedViolations(pod)).isEmpty();
        assertThat(PodSecurity.plainCredentials(pod)).isEmpty();
    }

    @Test
    void theOperatorsFieldsWinEvenOverATemplateTheValidatorWasNotAskedAbout() throws Exception {
        TaskBatch batch = batch("workers: {cpu: '1'}");
        PodTemplateSpec plain = worker(batch);
        batch.getSpec().getWorkers().setTemplate(new io.fabric8.kubernetes.client.utils.KubernetesSerialization().unmarshal("""
                metadata: {labels: {app.kubernetes.io/component: mine}}
                spec:
                  restartPolicy: Never
                  hostNetwork: true
                  automountServiceAccountToken: true
                  containers:
                    - name: worker
                      command: [sh]
                      args: [-c, "echo pwned"]
                      env: [{name: TASKBATCH_HTTP_PORT, value: "1"}]
                      securityContext: {readOnlyRootFilesystem: false, capabilities: {drop: []}}
                """, PodTemplateSpec.class));
        PodTemplateSpec merged = worker(batch);
        assertThat(merged.getMetadata().getLabels()).isEqualTo(plain.getMetadata().getLabels());
        assertThat(merged.getSpec().getRestartPolicy()).isEqualTo("OnFailure");
        assertThat(merged.getSpec().getHostNetwork()).isNull();
        assertThat(merged.getSpec().getAutomountServiceAccountToken()).isFalse();
        Container worker = merged.getSpec().getContainers().get(0);
        assertThat(worker.getCommand()).isEmpty();
        assertThat(worker.getArgs()).isEqualTo(plain.getSpec().getContainers().get(0).getArgs());
        assertThat(worker.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(worker.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        // the operator's value comes first: the process sees it (a later duplicate is what the validator refuses)
        assertThat(worker.getEnv().stream().filter(e -> e.getName().equals("TASKBATCH_HTTP_PORT")).findFirst().orElseThrow()
                .getValue()).isEqualTo("8080");
        assertThat(PodSecurity.restrictedViolations(merged.getSpec())).isEmpty();
    }

    @Test
    void withoutATemplateThePodIsTheOperatorsAlone() throws Exception {
        TaskBatch batch = batch("workers: {cpu: '1'}");
        PodTemplateSpec before = worker(batch);
        assertThat(PodTemplateMerge.merge(before, null, false)).isSameAs(before);
        assertThat(before.getSpec().getContainers()).singleElement().satisfies(c -> assertThat(c.getName()).isEqualTo("worker"));
    }

    @Test
    void theMasterGetsItsSizeSchedulingAndTemplateButKeepsItsServiceAccount() throws Exception {
        TaskBatch batch = batch("""
                master:
                  cpu: 500m
                  memory: 1Gi
                  nodeSelector: {pool: system}
                  priorityClassName: high
                  tolerations: [{key: dedicated, operator: Equal, value: system, effect: NoSchedule}]
                  affinity:
                    podAntiAffinity:
                      preferredDuringSchedulingIgnoredDuringExecution:
                        - weight: 1
                          podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app.kubernetes.io/component: worker}}}
                  template:
                    metadata: {annotations: {example.com/owner: reports}}
                    spec:
                      containers: [{name: master, env: [{name: JAVA_TOOL_OPTIONS, value: -Xmx400m}]}]
                """);
        PodTemplateSpec master = master(batch);
        PodSpec pod = master.getSpec();
        assertThat(master.getMetadata().getAnnotations()).containsEntry("example.com/owner", "reports");
        assertThat(pod.getServiceAccountName()).isEqualTo("t-master");
        assertThat(pod.getNodeSelector()).isEqualTo(Map.of("pool", "system"));
        assertThat(pod.getPriorityClassName()).isEqualTo("high");
        assertThat(pod.getTolerations()).extracting(t -> t.getKey()).containsExactly("dedicated");
        assertThat(pod.getAffinity().getPodAntiAffinity()).isNotNull();
        Container c = pod.getContainers().get(0);
        assertThat(c.getResources().getRequests()).containsEntry("cpu", new Quantity("500m")).containsEntry("memory", new Quantity("1Gi"));
        assertThat(c.getResources().getLimits()).containsEntry("memory", new Quantity("1Gi"));
        assertThat(c.getEnv().get(c.getEnv().size() - 1).getName()).isEqualTo("JAVA_TOOL_OPTIONS");
        assertThat(PodSecurity.restrictedViolations(pod)).isEmpty();

        PodSpec defaults = master(batch("workers: {cpu: '1'}")).getSpec();
        assertThat(defaults.getContainers().get(0).getResources().getRequests()).as("the operator's settings without spec.master")
                .containsEntry("cpu", new Quantity(PodTemplatesTest.DEFAULTS.masterCpu()))
                .containsEntry("memory", new Quantity(PodTemplatesTest.DEFAULTS.masterMemory()));
    }

    /** The names PodTemplateRules refuses are exactly what the operator puts in its pods: the two cannot drift apart. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("io.taskbatch.operator.PodTemplatesTest#batches")
    void theReservedNamesAreWhatTheOperatorSets(String name, TaskBatch batch) {
        for (PodTemplateSpec t : List.of(worker(batch), master(batch))) {
            Container c = t.getSpec().getContainers().get(0);
            assertThat(c.getEnv()).extracting(EnvVar::getName)
                    .filteredOn(n -> batch.getSpec().getWorkers().getEnv() == null || !batch.getSpec().getWorkers().getEnv().containsKey(n))
                    .filteredOn(n -> !n.equals("API_TOKEN")) // the secret-env-volume example's own, from its template
                    .allSatisfy(n -> assertThat(PodTemplateRules.RESERVED_ENV).contains(n));
            assertThat(t.getSpec().getVolumes()).extracting(Volume::getName).filteredOn(n -> !n.equals("scratch"))
                    .allSatisfy(n -> assertThat(PodTemplateRules.RESERVED_VOLUMES).contains(n));
            assertThat(c.getVolumeMounts()).extracting(VolumeMount::getMountPath).filteredOn(p -> !p.equals("/scratch"))
                    .allSatisfy(p -> assertThat(PodTemplateRules.RESERVED_MOUNT_PATHS).contains(p));
            assertThat(t.getMetadata().getLabels().keySet()).filteredOn(k -> !k.equals("team"))
                    .allSatisfy(k -> assertThat(PodTemplateRules.RESERVED_LABELS).contains(k));
        }
    }

    @SafeVarargs
    static <T> List<T> concat(List<T> first, T... more) {
        List<T> out = new java.util.ArrayList<>(first);
        out.addAll(List.of(more));
        return out;
    }
}
