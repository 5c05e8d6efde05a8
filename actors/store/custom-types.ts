/**
 * The store's view of the custom types: a catalog fed by an informer on CustomResourceDefinitions,
 * read again from KV when a request names a type the catalog does not know yet (a CRD written a
 * moment ago to another store replica), so a custom resource can be created as soon as its CRD's
 * create has been answered.
 */
import type { ResourceType } from "../../bus/kinds.ts";
import type { CustomResourceDefinition } from "../../bus/crd.ts";
import { ResourceCatalog } from "../../bus/catalog.ts";
import { customTypeOf } from "../../bus/crd.ts";

export class CustomTypes {
  readonly catalog = new ResourceCatalog();
  private loading?: Promise<void>;

  constructor(private readonly load: () => Promise<CustomResourceDefinition[]>) {}

  /** Replaces the known types with those of these CRDs. */
  feed(crds: readonly CustomResourceDefinition[]): void {
    this.catalog.setCustom(crds.map(customTypeOf).filter((t): t is ResourceType => t !== undefined));
  }

  /** Reads every CRD again (one read at a time, shared by concurrent callers). */
  refresh(): Promise<void> {
    this.loading ??= this.load()
      .then((crds) => this.feed(crds))
      .finally(() => (this.loading = undefined));
    return this.loading;
  }

  async resolve(resource: string): Promise<ResourceType | undefined> {
    const known = this.catalog.get(resource);
    if (known) return known;
    await this.refresh();
    return this.catalog.get(resource);
  }
}
