/**
 * Table printers for PersistentVolumes, PersistentVolumeClaims and StorageClasses, with the
 * columns and cells of kube-apiserver 1.32 (pkg/printers/internalversion): `kubectl get pv,pvc,sc`
 * prints what it prints against Kubernetes.
 */
import type { Printer } from "./table-kit.ts";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../bus/storage.ts";
import { col, NAME, AGE, age, wide } from "./table-kit.ts";
import { accessModesText, isDefaultClass } from "../../bus/storage.ts";

const VOLUME_MODE = col("VolumeMode", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.", wide);

export const STORAGE_PRINTERS: Record<string, Printer> = {
  persistentvolumes: {
    columns: [
      NAME,
      col("Capacity", "capacity is the description of the persistent volume's resources and capacity."),
      col("Access Modes", "accessModes contains all ways the volume can be mounted."),
      col("Reclaim Policy", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim."),
      col("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
      col("Claim", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."),
      col("StorageClass", "StorageClass of the pv"),
      col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
      col("Reason", "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI."),
      AGE,
      VOLUME_MODE,
    ],
    cells: (o, now) => {
      const pv = o as PersistentVolume;
      const ref = pv.spec?.claimRef;
      const claim = ref ? `${ref.namespace ?? ""}/${ref.name ?? ""}` : "";
      const phase = o.metadata.deletionTimestamp ? "Terminating" : (pv.status?.phase ?? "");
      return [
        o.metadata.name ?? "",
        pv.spec?.capacity?.storage ?? "0",
        accessModesText(pv.spec?.accessModes),
        pv.spec?.persistentVolumeReclaimPolicy ?? "",
        phase,
        claim,
        pv.spec?.storageClassName ?? "",
        pv.spec?.volumeAttributesClassName ?? "<unset>",
        pv.status?.reason ?? "",
        age(o, now),
        pv.spec?.volumeMode ?? "<unset>",
      ];
    },
  },
  persistentvolumeclaims: {
    columns: [
      NAME,
      col("Status", "phase represents the current phase of PersistentVolumeClaim."),
      col("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim."),
      col("Capacity", "capacity represents the actual resources of the underlying volume."),
      col("Access Modes", "accessModes contains the actual access modes the volume backing the PVC has."),
      col("StorageClass", "StorageClass of the pvc"),
      col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
      AGE,
      VOLUME_MODE,
    ],
    cells: (o, now) => {
      const c = o as PersistentVolumeClaim;
      const bound = !!c.spec?.volumeName;
      const phase = o.metadata.deletionTimestamp ? "Terminating" : (c.status?.phase ?? "");
      return [
        o.metadata.name ?? "",
        phase,
        c.spec?.volumeName ?? "",
        bound ? (c.status?.capacity?.storage ?? "0") : "",
        bound ? accessModesText(c.status?.accessModes) : "",
        c.spec?.storageClassName ?? "",
        c.spec?.volumeAttributesClassName ?? "<unset>",
        age(o, now),
        c.spec?.volumeMode ?? "<unset>",
      ];
    },
  },
  storageclasses: {
    columns: [
      NAME,
      col("Provisioner", "provisioner indicates the type of the provisioner."),
      col("ReclaimPolicy", "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete."),
      col("VolumeBindingMode", "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature."),
      col("AllowVolumeExpansion", "allowVolumeExpansion shows whether the storage class allow volume expand."),
      AGE,
    ],
    cells: (o, now) => {
      const sc = o as StorageClass;
      return [
        `${o.metadata.name ?? ""}${isDefaultClass(sc) ? " (default)" : ""}`,
        sc.provisioner ?? "",
        sc.reclaimPolicy ?? "Delete",
        sc.volumeBindingMode ?? "Immediate",
        sc.allowVolumeExpansion === true,
        age(o, now),
      ];
    },
  },
};
