package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Default;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Toleration;
import java.util.List;
import java.util.Map;

/** The worker pods of a batch. */
public class WorkersSpec {
    @JsonPropertyDescription("Number of worker pods, or auto: as many as fit in what other pods leave free on the eligible nodes, "
            + "shared with the other running auto-sized batches (see weight).")
    @Default("auto")
    private IntOrString replicas = new IntOrString("auto");
    @JsonPropertyDescription("Upper bound when replicas is auto.")
    @Default("64")
    @Min(1)
    private int maxReplicas = 64;
    @JsonPropertyDescription("When replicas is auto: this batch's share of the free capacity relative to the other running auto-sized "
            + "batches (2 gets twice the workers of 1).")
    @Default("1")
    @Min(1)
    private int weight = 1;
    @JsonPropertyDescription("CPU per worker pod; also its number of task slots unless concurrency is set.")
    @Default("1")
    private String cpu = "1";
    @JsonPropertyDescription("Memory per worker pod.")
    @Default("512Mi")
    private String memory = "512Mi";
    @JsonPropertyDescription("Task slots per worker; 0 means one per core (CPU-bound work). IO-bound work may set more.")
    @Min(0)
    private int concurrency;
    @JsonPropertyDescription("How many tasks a worker may hold beyond its running ones; 0 = adapt to the workload.")
    @Min(0)
    private int prefetch;
    @JsonPropertyDescription("Container image of the workers; default: the operator's own image.")
    private String image;
    @JsonPropertyDescription("Extra environment variables of the worker container.")
    private Map<String, String> env;
    @JsonPropertyDescription("Node labels the worker pods must match.")
    private Map<String, String> nodeSelector;
    @JsonPropertyDescription("Tolerations of the worker pods; auto sizing counts only nodes whose taints they tolerate.")
    @JsonDeserialize(using = DeferredModelDeserializer.class)
    private List<Toleration> tolerations;
    @JsonPropertyDescription("Service account of the worker pods.")
    private String serviceAccountName;
    @JsonPropertyDescription("A core/v1 pod template merged into the worker pods (kubectl explain pod.spec documents its "
            + "fields). The task container is the one named worker; the operator owns its command, args, image default, "
            + "probes, restart policy and the restricted security defaults; see the README's \"Worker pod template\".")
    @JsonDeserialize(using = DeferredModelDeserializer.class)
    private PodTemplateSpec template;

    public IntOrString getReplicas() { return replicas; }
    public void setReplicas(IntOrString replicas) { this.replicas = replicas; }
    public int getMaxReplicas() { return maxReplicas; }
    public void setMaxReplicas(int maxReplicas) { this.maxReplicas = maxReplicas; }
    public int getWeight() { return weight; }
    public void setWeight(int weight) { this.weight = weight; }
    public String getCpu() { return cpu; }
    public void setCpu(String cpu) { this.cpu = cpu; }
    public String getMemory() { return memory; }
    public void setMemory(String memory) { this.memory = memory; }
    public int getConcurrency() { return concurrency; }
    public void setConcurrency(int concurrency) { this.concurrency = concurrency; }
    public int getPrefetch() { return prefetch; }
    public void setPrefetch(int prefetch) { this.prefetch = prefetch; }
    public String getImage() { return image; }
    public void setImage(String image) { this.image = image; }
    public Map<String, String> getEnv() { return env; }
    public void setEnv(Map<String, String> env) { this.env = env; }
    public Map<String, String> getNodeSelector() { return nodeSelector; }
    public void setNodeSelector(Map<String, String> nodeSelector) { this.nodeSelector = nodeSelector; }
    public List<Toleration> getTolerations() { return tolerations; }
    public void setTolerations(List<Toleration> tolerations) { this.tolerations = tolerations; }
    public String getServiceAccountName() { return serviceAccountName; }
    public void setServiceAccountName(String serviceAccountName) { this.serviceAccountName = serviceAccountName; }
    public PodTemplateSpec getTemplate() { return template; }
    public void setTemplate(PodTemplateSpec template) { this.template = template; }
}
