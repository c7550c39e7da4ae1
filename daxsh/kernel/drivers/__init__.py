"""Models drivers/: the nvdimm stack (drivers/nvdimm: region, namespace, pfn device, pmem
disk; bind and unbind) and the dax device (drivers/dax/super.c)."""
