"""The territorial referential's pure core: levels, codes, vintages, zonings, geometry."""
