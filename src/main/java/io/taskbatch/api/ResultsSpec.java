package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** Where the master stores results: a capped ConfigMap by default, or JSON Lines on a claim. */
public class ResultsSpec {
    @JsonPropertyDescription("PersistentVolumeClaim to write results.jsonl to; empty = a capped ConfigMap.")
    private String claimName;
    @JsonPropertyDescription("Path of the JSON Lines file inside the claim.")
    private String path;

    public String getClaimName() { return claimName; }
    public void setClaimName(String claimName) { this.claimName = claimName; }
    public String getPath() { return path; }
    public void setPath(String path) { this.path = path; }
}
