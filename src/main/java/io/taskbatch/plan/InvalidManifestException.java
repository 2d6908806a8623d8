package io.taskbatch.plan;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** A manifest that cannot run; each violation names its field. Nothing was started. */
public class InvalidManifestException extends Exception {
    private final List<Violation> violations;
    private final transient Manifest partial;

    public InvalidManifestException(List<Violation> violations) {
        this(violations, null);
    }

    /**
     * @param partial what could be read of the manifest once the fields named by {@code violations}
     *                were left out (so that the cross-field checks can still run), or null
     */
    public InvalidManifestException(List<Violation> violations, Manifest partial) {
        super(violations.stream().map(Violation::toString).collect(Collectors.joining("\n")), null, false, false);
        this.violations = List.copyOf(violations);
        this.partial = partial;
    }

    public InvalidManifestException(String field, String message) {
        this(List.of(new Violation(field, message)));
    }

    public List<Violation> violations() {
        return violations;
    }

    /** The manifest without the fields in error, when it could be read at all. */
    public Optional<Manifest> partial() {
        return Optional.ofNullable(partial);
    }
}
