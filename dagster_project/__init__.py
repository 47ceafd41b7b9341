"""Sex- and age-disaggregated monitoring warehouse for the Shuangqing women's and children's plans."""
