package io.taskbatch.plan;

import java.util.List;
import java.util.stream.Collectors;

/** A manifest that cannot run; each violation names its field. Nothing was started. */
public class InvalidManifestException extends Exception {
    private final List<Violation> violations;

    public InvalidManifestException(List<Violation> violations) {
        super(violations.stream().map(Violation::toString).collect(Collectors.joining("\n")), null, false, false);
        this.violations = List.copyOf(violations);
    }

    public InvalidManifestException(String field, String message) {
        this(List.of(new Violation(field, message)));
    }

    public List<Violation> violations() {
        return violations;
    }
}
