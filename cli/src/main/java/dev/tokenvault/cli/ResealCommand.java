package dev.tokenvault.cli;

import dev.tokenvault.ResealReport;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "reseal", description = {
    "Moves every record to the current data key version, then removes the data keys no record uses any more: "
            + "after rotate-data-key, this retires the old key.",
    "Other work on the store goes on meanwhile. Interrupted, it leaves every record readable; run it again to "
            + "finish.",
    "Exit code 3 when a record fails authentication (it keeps its key version)."})
final class ResealCommand extends MaintenanceCommand {
    @Override
    public Integer call() {
        Render r = root.render();
        ResealReport report = runOnStore("reseal", vault -> vault.resealAll());
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("recordsResealed", report.recordsResealed());
            doc.put("currentKeyVersion", report.currentKeyVersion());
            doc.put("removedKeyVersions", report.removedKeyVersions());
            doc.put("problems", report.problems());
            r.json(doc);
        } else {
            r.out.println("resealed " + report.recordsResealed() + " record(s) under data key version "
                    + report.currentKeyVersion());
            r.out.println(report.removedKeyVersions().isEmpty() ? "no data key version was removed"
                    : "removed data key version(s) " + report.removedKeyVersions());
            if (!report.problems().isEmpty()) {
                RepairCommand.lines(r, report.problems().size() + " problem(s):", report.problems());
            }
            r.out.flush();
        }
        return report.problems().isEmpty() ? ExitCode.OK : ExitCode.KEY_OR_INTEGRITY;
    }
}
